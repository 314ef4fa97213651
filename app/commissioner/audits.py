"""Proportionate audit (/commissioner/audits): each year's balance checks of every budget,
and the year's sample (a reproducible random share plus every flagged budget, each with why
it was chosen), drawn here or by `flask audits sample --year YYYY`."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import HiddenField

from app.commissioner import bp
from app.database import utcnow
from app.forms import FlaskForm, submit
from app.services import audits
from app.services.errors import ValidationError
from app.uk_time import uk_today


class DrawForm(FlaskForm):
    year = HiddenField()
    submit = submit("Check every budget and draw the sample")


def _year() -> int:
    this_year = uk_today(utcnow()).year
    text = request.args.get("year", "")
    return int(text) if text.isdigit() and 2000 <= int(text) <= this_year else this_year


@bp.get("/audits")
def audit_sample():
    year = _year()
    sample = audits.sample_for(year)
    checks = audits.checks_of(year)
    form = DrawForm(year=str(year))
    return render_template(
        "commissioner/audits.html",
        year=year,
        years=list(range(uk_today(utcnow()).year, uk_today(utcnow()).year - 5, -1)),
        sample=sample,
        checks=checks,
        not_adding_up=[check for check in checks if not check.balances],
        share=audits.share_percent(),
        form=form,
    )


@bp.post("/audits/sample")
def draw_audit_sample():
    form = DrawForm()
    year = int(form.year.data) if form.validate_on_submit() and (form.year.data or "").isdigit() else None
    if year is None:
        flash("Choose the year to draw the sample for")
        return redirect(url_for("commissioner.audit_sample"))
    try:
        sample = audits.draw(year, by=current_user)
    except ValidationError as exc:
        flash("; ".join(exc.errors.values()))
        return redirect(url_for("commissioner.audit_sample"))
    flash(f"The {year} sample is drawn: {len(sample.audits)} budgets to audit.", "success")
    return redirect(url_for("commissioner.audit_sample", year=year))
