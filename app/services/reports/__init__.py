"""Market-shaping reports for commissioners, and the public Market Position Statement.

Each report is one module that turns filters into a ``Report`` of tables (tables.py);
small numbers are suppressed before anything leaves (small_numbers.py); spend is read from
spend facts kept beside the ledger (spend_facts.py)."""

from app.services.facade import seal
from app.services.reports.filters import ReportFilter, default_filter, parse
from app.services.reports.small_numbers import suppress
from app.services.reports.spend_facts import check as check_spend_facts
from app.services.reports.spend_facts import rebuild as rebuild_spend_facts
from app.services.reports.tables import Chart, Column, Figure, Kind, Report, Table

__all__ = [
    "Chart",
    "Column",
    "Figure",
    "Kind",
    "Report",
    "ReportFilter",
    "Table",
    "check_spend_facts",
    "default_filter",
    "parse",
    "rebuild_spend_facts",
    "suppress",
]

seal(__name__)
