"""The council's Market Position Statement at /market-position: its published words and the
marketplace's live figures, for providers deciding where to open or grow. Anyone may read it."""

from __future__ import annotations

from flask import render_template

from app.presenters.reports import table_params
from app.public import bp
from app.services.reports import position
from app.services.reports.public_figures import public_figures


@bp.get("/market-position")
def market_position():
    statement = position.published()
    f, figures = public_figures()
    return render_template(
        "public/market_position.html",
        statement=statement,
        sections=[s for s in (statement.sections if statement else []) if s.intention or s.text],
        figures=[(item, table_params(item.table, hide_caption=True)) for item in figures],
        described=f.describe(),
    )
