"""What a budget page and its statement show, for citizens, representatives and commissioners."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from flask import Response

from app.formatting import format_date, format_pence
from app.models import PersonalBudget
from app.presenters.csv_export import plain_pounds, safe_cell
from app.services import budgets
from app.services.policy import Policy
from app.uk_time import local_date, local_midnight, uk_today


@dataclass(frozen=True)
class StatementView:
    budget: PersonalBudget
    summary: budgets.BudgetSummary
    periods: list[tuple[dt.date, dt.date]]
    statement: budgets.Statement | None
    known_on: dt.date | None = None  # the statement as the ledger stood at the end of this day
    known_error: str | None = None

    @property
    def selected(self) -> dt.date | None:
        return self.statement.starts_on if self.statement else None

    def period_label(self, period: tuple[dt.date, dt.date]) -> str:
        start, end = period
        return f"{format_date(start)} to {format_date(end - dt.timedelta(days=1))}"


KNOWN_YEARS = (2000, 2100)  # the ledger cannot have stood any other way before or after these


def parse_known_on(args) -> tuple[dt.date | None, str | None]:
    """The optional 'as the ledger stood on' date from day/month/year query parameters.
    Anything typed gives a date or a message, never an error page."""
    parts = [(args.get(name) or "").strip() for name in ("known-day", "known-month", "known-year")]
    if not any(parts):
        return None, None
    try:
        day, month, year = (int(p) for p in parts)
    except ValueError:
        return None, "Enter a real date, for example 1 11 2026"
    if not KNOWN_YEARS[0] <= year <= KNOWN_YEARS[1]:
        return None, f"Year must be a real year, like {uk_today().year}"
    try:
        return dt.date(year, month, day), None
    except (ValueError, OverflowError):
        return None, "Enter a real date, for example 1 11 2026"


def statement_view(
    budget: PersonalBudget, policy: Policy, period_param: str | None, known_on: dt.date | None = None, known_error: str | None = None
) -> StatementView:
    periods = budgets.statement_periods(budget, policy)
    chosen = None
    if period_param:
        try:
            day = dt.date.fromisoformat(period_param)
        except ValueError:
            day = None
        chosen = next((p for p in periods if p[0] == day), None)
    if chosen is None and periods:
        chosen = periods[0]
    known_at = local_midnight(known_on + dt.timedelta(days=1)) if known_on else None
    statement = budgets.statement(budget, *chosen, known_at=known_at) if chosen else None
    return StatementView(budget, budgets.summary(budget), periods, statement, known_on, known_error)


def statement_csv(view: StatementView) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    statement = view.statement
    writer.writerow(["Personal budget statement", view.budget.public_id, view.budget.budget_type.label])
    if statement is None:
        writer.writerow(["No statement periods yet"])
    else:
        writer.writerow(["Period", statement.starts_on.isoformat(), statement.last_day.isoformat()])
        if view.known_on:
            writer.writerow(["As the ledger stood at the end of", view.known_on.isoformat()])
        writer.writerow([])
        # Dates are UK dates, as on the page. "Moved with the fund": what an ISF move took to
        # the new provider (the money available does not change).
        writer.writerow(
            [
                "Date",
                "Description",
                "Money in",
                "Held for bookings",
                "Released",
                "Paid to providers",
                "Moved with the fund",
                "Available after",
            ]
        )
        writer.writerow(
            [statement.starts_on.isoformat(), "Opening balance", "", "", "", "", "", plain_pounds(statement.opening_available_pence)]
        )
        for line in statement.lines:
            writer.writerow(
                [
                    local_date(line.at).isoformat(),
                    safe_cell(line.description),
                    plain_pounds(line.money_in_pence) if line.money_in_pence else "",
                    plain_pounds(line.held_pence) if line.held_pence else "",
                    plain_pounds(line.released_pence) if line.released_pence else "",
                    plain_pounds(line.paid_pence) if line.paid_pence else "",
                    plain_pounds(line.moved_pence) if line.moved_pence else "",
                    plain_pounds(line.available_after_pence),
                ]
            )
        writer.writerow(
            [
                statement.last_day.isoformat(),
                "Closing balance",
                plain_pounds(statement.money_in_pence),
                plain_pounds(statement.held_pence),
                plain_pounds(statement.released_pence),
                plain_pounds(statement.paid_pence),
                plain_pounds(statement.moved_pence),
                plain_pounds(statement.closing_available_pence),
            ]
        )
    name = f"budget-{view.budget.public_id}-{statement.starts_on.isoformat() if statement else 'none'}.csv"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


__all__ = ["StatementView", "format_pence", "statement_csv", "statement_view"]
