"""Writing the Market Position Statement (/commissioner/market/position) and the reference
rates prices are compared with (/commissioner/market/reference-rates)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.commissioner import bp
from app.forms import FlaskForm, apply_errors, radio_field, submit, text_field, textarea_field
from app.models import Intention
from app.services.errors import ValidationError
from app.services.reports import filters, position

INTENTIONS = [(i.value, i.label) for i in Intention] + [("", "Say nothing about this yet")]


def _position_form(categories) -> FlaskForm:
    """The editor's form: the statement's own words, then one intention and text per type of support."""

    class PositionForm(FlaskForm):
        title = text_field("Title", required="Enter a title", max_length=200)
        introduction = textarea_field(
            "Introduction", max_length=position.MAX_TEXT, description="Who the statement is for and what it covers"
        )
        intentions = textarea_field(
            "What the council intends",
            max_length=position.MAX_TEXT,
            description="The council's plans for the care market: what it will commission, and how",
        )
        save = submit("Save draft")
        publish = submit("Save and publish")

    for category in categories:
        setattr(PositionForm, f"intention_{category.id}", radio_field(f"What the council wants of {category.name.lower()}", INTENTIONS))
        setattr(
            PositionForm,
            f"text_{category.id}",
            textarea_field(f"What providers of {category.name.lower()} should know", max_length=position.MAX_TEXT),
        )
    return PositionForm()


def _fill(form, copy, categories) -> None:
    if copy is None:
        form.title.data = position.DEFAULT_TITLE
        return
    form.title.data, form.introduction.data, form.intentions.data = copy.title, copy.introduction, copy.intentions
    sections = {s.category_id: s for s in copy.sections}
    for category in categories:
        section = sections.get(category.id)
        getattr(form, f"intention_{category.id}").data = section.intention.value if section and section.intention else ""
        getattr(form, f"text_{category.id}").data = section.text if section else ""


def _sections(form, categories) -> list[position.SectionText]:
    found = []
    for category in categories:
        chosen = getattr(form, f"intention_{category.id}").data or ""
        intention = next((i for i in Intention if i.value == chosen), None)
        found.append(position.SectionText(category.id, intention, getattr(form, f"text_{category.id}").data or ""))
    return found


@bp.route("/market/position", methods=["GET", "POST"])
def market_position():
    categories = filters.categories()
    form = _position_form(categories)
    if request.method == "GET":
        _fill(form, position.working_copy(), categories)
    if form.validate_on_submit():
        try:
            position.save_draft(
                current_user,
                title=form.title.data or "",
                introduction=form.introduction.data or "",
                intentions=form.intentions.data or "",
                sections=_sections(form, categories),
            )
            if form.publish.data:
                position.publish(current_user)
                flash("The Market Position Statement is published", "success")
                return redirect(url_for("public.market_position"))
            flash("Draft saved. It is not public until you publish it", "success")
            return redirect(url_for("commissioner.market_position"))
        except ValidationError as error:
            apply_errors(form, error, {f"section-{c.id}": f"text_{c.id}" for c in categories})
    return render_template(
        "commissioner/market/position.html",
        form=form,
        categories=categories,
        published=position.published(),
        draft=position.draft(),
    )
