"""The reference rates prices are compared with (/commissioner/market/reference-rates): one
per type of support and unit, each with where it came from."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from app.commissioner import bp
from app.formatting import parse_pounds
from app.forms import FlaskForm, apply_errors, select_field, submit, text_field
from app.models import PriceUnit
from app.services.errors import ValidationError
from app.services.reports import filters, reference_rates


class ReferenceRateForm(FlaskForm):
    category = select_field("Type of support", required="Choose a type of support")
    price_unit = select_field("Rate for", choices=[(u.value, u.per_label) for u in PriceUnit], required="Choose what the rate is for")
    rate = text_field("Reference rate", required="Enter the reference rate", max_length=20, description="In pounds, for example 28.53")
    source = text_field(
        "Where the rate comes from",
        required="Enter where the rate comes from",
        max_length=200,
        description="For example, Fair Cost of Care median 2025-26",
    )
    submit = submit("Save reference rate")


@bp.route("/market/reference-rates", methods=["GET", "POST"])
def reference_rates_page():
    categories = filters.categories()
    form = ReferenceRateForm()
    form.category.choices = [("", "Choose a type of support")] + [(c.slug, c.name) for c in categories]
    if form.validate_on_submit():
        category = next((c for c in categories if c.slug == form.category.data), None)
        try:
            pence = parse_pounds(form.rate.data)
        except ValueError as error:
            form.rate.errors = [str(error)]
        else:
            try:
                reference_rates.set_rate(current_user, category, form.price_unit.data, pence, form.source.data)
                flash(f"Reference rate saved for {category.name.lower()}", "success")
                return redirect(url_for("commissioner.reference_rates_page"))
            except ValidationError as error:
                apply_errors(form, error, {"rate_pence": "rate"})
    names = {c.id: c.name for c in categories}
    rows = sorted(reference_rates.rates().values(), key=lambda r: (names.get(r.category_id, ""), r.price_unit.value))
    return render_template("commissioner/market/reference_rates.html", form=form, rates=rows, names=names)
