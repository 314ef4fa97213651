"""Market report tables as people read them: GOV.UK table parameters for the page, and
CSV rows for the download, both from the same formatted cells, so the download holds
exactly what the table shows."""

from __future__ import annotations

import csv
import datetime as dt
import io

from app.formatting import format_datetime, format_pence
from app.presenters.csv_export import plain_pounds, safe_row
from app.services.reports.tables import SUPPRESSED, Column, Kind, Table

NO_DATA = "No data"


def format_cell(value, kind: Kind) -> str:
    """A cell as the table shows it."""
    if value is None:
        return NO_DATA if kind.numeric else ""
    if value == SUPPRESSED or isinstance(value, str):
        return str(value)
    if kind is Kind.MONTH and isinstance(value, dt.date):
        return value.strftime("%B %Y")
    if kind is Kind.PENCE:
        return format_pence(round(value))
    if kind is Kind.SHARE:
        return f"{value * 100:.1f}%"
    if kind is Kind.NUMBER:
        return f"{value:,.1f}" if isinstance(value, float) and not float(value).is_integer() else f"{round(value):,}"
    if kind in (Kind.COUNT, Kind.PEOPLE):
        return f"{value:,}"
    return str(value)


def csv_cell(value, kind: Kind):
    """The same figure for a spreadsheet: numbers stay numbers (pounds as 1234.50, shares
    as percentages), text is guarded against formulas by ``safe_row``."""
    if value is None:
        return ""
    if value == SUPPRESSED or isinstance(value, str):
        return value
    if kind is Kind.MONTH and isinstance(value, dt.date):
        return value.strftime("%Y-%m")
    if kind is Kind.PENCE:
        return plain_pounds(round(value))
    if kind is Kind.SHARE:
        return f"{value * 100:.1f}"
    if kind is Kind.NUMBER:
        return f"{value:.1f}" if isinstance(value, float) and not float(value).is_integer() else str(round(value))
    return value


def csv_heading(column: Column) -> str:
    suffix = {Kind.PENCE: " (£)", Kind.SHARE: " (%)"}.get(column.kind, "")
    return column.heading + suffix


def table_params(table: Table, *, hide_caption: bool = False) -> dict:
    """Parameters for govukTable: numeric columns right-aligned, the total row in bold."""
    head = [{"text": c.heading, "format": "numeric" if c.kind.numeric else ""} for c in table.columns]
    rows = [[_cell(value, column) for value, column in zip(row, table.columns, strict=True)] for row in table.rows]
    if table.total is not None:
        rows.append([_cell(value, column, bold=True) for value, column in zip(table.total, table.columns, strict=True)])
    caption_classes = "govuk-visually-hidden" if hide_caption else "govuk-table__caption--m"
    return {"caption": table.caption, "captionClasses": caption_classes, "firstCellIsHeader": True, "head": head, "rows": rows}


def _cell(value, column: Column, *, bold: bool = False) -> dict:
    cell = {"text": format_cell(value, column.kind)}
    if column.kind.numeric:
        cell["format"] = "numeric"
    if bold:
        cell["classes"] = "govuk-!-font-weight-bold"
    return cell


def table_csv(table: Table, *, described: str, calculated_at: dt.datetime) -> str:
    """The table as CSV: a line saying what it is and when it was calculated, the headings,
    the rows and the total row."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(safe_row([f"{table.caption}: {described}. Calculated {format_datetime(calculated_at)}."]))
    writer.writerow([csv_heading(c) for c in table.columns])
    for row in [*table.rows, *([table.total] if table.total is not None else [])]:
        writer.writerow(safe_row([csv_cell(value, column.kind) for value, column in zip(row, table.columns, strict=True)]))
    return out.getvalue()
