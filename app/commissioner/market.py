"""Market-shaping reports at /commissioner/market: one page per report, each with the same
filters, its charts beside GOV.UK tables, and a CSV of exactly what each table shows."""

from __future__ import annotations

from flask import Response, abort, render_template, request

from app.commissioner import bp
from app.forms import FlaskForm, apply_errors, select_field
from app.models import WayOfPaying
from app.presenters.reports import table_csv, table_params
from app.services import reports
from app.services.errors import ValidationError
from app.services.reports import catalogue, filters
from app.uk_time import uk_today

# How far back the month lists reach.
MONTHS_OFFERED = 36


class ReportFilterForm(FlaskForm):
    class Meta:
        csrf = False

    first = select_field("From", name="from")
    last = select_field("To", name="to")
    category = select_field("Type of support")
    district = select_field("Postcode district")
    way = select_field("Way of paying")


def _filter_form(f: reports.ReportFilter, errors: dict[str, str]) -> ReportFilterForm:
    form = ReportFilterForm(formdata=None)
    latest = filters.first_of_month(uk_today())
    offered = filters.months_between(filters.add_months(latest, -MONTHS_OFFERED), latest)
    months = [(m.strftime("%Y-%m"), m.strftime("%B %Y")) for m in reversed(offered)]
    form.first.choices = months
    form.last.choices = months
    form.category.choices = [("", "All types of support")] + [(c.slug, c.name) for c in filters.categories()]
    form.district.choices = [("", "All districts")] + [(d, d) for d in filters.districts()]
    form.way.choices = [("", "All ways of paying")] + [(w.value, w.label) for w in WayOfPaying]
    args = f.query_args()
    form.first.data, form.last.data = args["from"], args["to"]
    form.category.data, form.district.data, form.way.data = args.get("category", ""), args.get("district", ""), args.get("way", "")
    if errors:
        apply_errors(form, ValidationError(errors), {"from": "first", "to": "last"})
    return form


@bp.get("/market")
def market():
    return render_template("commissioner/market/index.html", entries=catalogue.REPORTS)


def _run(slug: str):
    if catalogue.entry(slug) is None:
        abort(404)
    f, errors = reports.parse(request.args)
    return f, errors, catalogue.run(slug, f)


@bp.get("/market/<slug:slug>")
def market_report(slug: str):
    f, errors, report = _run(slug)
    tables = [(table, table_params(table, hide_caption=True)) for table in report.tables]
    return render_template(
        "commissioner/market/report.html",
        report=report,
        tables=tables,
        described=f.describe(),
        filter_form=_filter_form(f, errors),
        query=f.query_args(),
        entries=catalogue.REPORTS,
    )


@bp.get("/market/<slug:slug>/<slug:table>.csv")
def market_csv(slug: str, table: str):
    f, _errors, report = _run(slug)
    found = report.table(table)
    if found is None:
        abort(404)
    body = table_csv(found, described=f.describe(), calculated_at=report.calculated_at)
    name = f"{report.slug}-{found.slug}-{f.first_month:%Y-%m}-to-{f.last_month:%Y-%m}.csv"
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f"attachment; filename={name}"})
