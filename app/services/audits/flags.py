"""Risk flags: why a budget is checked whatever the random draw. Each rule is one query over
every budget of the year and says, in words, why it flagged a budget:

* unspent money over the council's threshold (8 weeks' worth unless it says otherwise);
* corrections or reversals of money in the budget during the year;
* three or more visits cancelled late and charged during the year;
* money spent with a provider the council has since suspended;
* two or more failed card payments for the person's care during the year.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import func, select

from app.extensions import db
from app.formatting import format_pence, pluralise
from app.models import (
    AccountKind,
    Booking,
    BookingVisit,
    CardPayment,
    CardPaymentStatus,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    PersonalBudget,
    Provider,
    ProviderStatus,
    TransactionKind,
    VisitStatus,
)
from app.services import council
from app.services.audits.budget_figures import figures_of
from app.uk_time import local_midnight

LATE_CANCELLATIONS = 3
CARD_FAILURES = 2

Flags = dict[int, list[tuple[str, str]]]  # budget id -> [(code, reason)]


def _year(year: int) -> tuple[dt.datetime, dt.datetime]:
    return local_midnight(dt.date(year, 1, 1)), local_midnight(dt.date(year + 1, 1, 1))


def flags_for(chosen: Iterable[PersonalBudget], year: int) -> Flags:
    """Every flag of each of ``chosen`` (the year's budgets) for ``year``."""
    chosen = list(chosen)
    ids = [budget.id for budget in chosen]
    found: Flags = {}
    for rule in (
        _unspent(chosen),
        _corrections(ids, year),
        _late_cancellations(ids, year),
        _suspended(ids, year),
        _card_failures(ids, year),
    ):
        for budget_id, flag in rule:
            found.setdefault(budget_id, []).append(flag)
    return found


def _unspent(chosen: list[PersonalBudget]):
    weeks = council.current().unspent_weeks_threshold
    figures = figures_of(budget.id for budget in chosen)
    for budget in chosen:
        limit = budget.amount_per_period_pence * weeks // 4
        available = figures[budget.id].available_pence
        if available > limit:
            reason = f"{format_pence(available)} unspent: more than {weeks} weeks' worth ({format_pence(limit)})"
            yield budget.id, ("unspent", reason)


def _corrections(ids: list[int], year: int):
    start, end = _year(year)
    rows = db.session.execute(
        select(LedgerAccount.budget_id, func.count(func.distinct(LedgerTransaction.id)))
        .join(LedgerEntry, LedgerEntry.account_id == LedgerAccount.id)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(
            LedgerAccount.kind == AccountKind.BUDGET,
            LedgerAccount.budget_id.in_(ids),
            LedgerTransaction.kind == TransactionKind.CORRECTION,
            LedgerTransaction.effective_at >= start,
            LedgerTransaction.effective_at < end,
        )
        .group_by(LedgerAccount.budget_id)
    ).all()
    for budget_id, count in rows:
        yield budget_id, ("corrections", f"{pluralise(count, 'correction or reversal', 'corrections or reversals')} of its money in {year}")


def _late_cancellations(ids: list[int], year: int):
    start, end = _year(year)
    rows = db.session.execute(
        select(Booking.budget_id, func.count(), func.coalesce(func.sum(BookingVisit.charged_pence), 0))
        .join(BookingVisit, BookingVisit.booking_id == Booking.id)
        .where(
            Booking.budget_id.in_(ids),
            BookingVisit.status == VisitStatus.LATE_CANCELLED,
            BookingVisit.starts_at >= start,
            BookingVisit.starts_at < end,
        )
        .group_by(Booking.budget_id)
        .having(func.count() >= LATE_CANCELLATIONS)
    ).all()
    for budget_id, count, charged in rows:
        yield budget_id, ("late_cancellations", f"{count} visits cancelled late and charged in {year} ({format_pence(int(charged))})")


def _suspended(ids: list[int], year: int):
    start, end = _year(year)
    rows = db.session.execute(
        select(Booking.budget_id, Provider.name, func.coalesce(func.sum(BookingVisit.charged_pence), 0))
        .join(BookingVisit, BookingVisit.booking_id == Booking.id)
        .join(Provider, Provider.id == Booking.provider_id)
        .where(
            Booking.budget_id.in_(ids),
            Provider.status == ProviderStatus.SUSPENDED,
            BookingVisit.status == VisitStatus.DELIVERED,
            BookingVisit.starts_at >= start,
            BookingVisit.starts_at < end,
        )
        .group_by(Booking.budget_id, Provider.name)
        .order_by(Booking.budget_id, Provider.name)
    ).all()
    for budget_id, name, spent in rows:
        yield budget_id, ("suspended_provider", f"{format_pence(int(spent))} spent in {year} with {name}, which the council has suspended")


def _card_failures(ids: list[int], year: int):
    start, end = _year(year)
    budgets_of: dict[int, list[int]] = {}
    for citizen_id, budget_id in db.session.execute(select(PersonalBudget.citizen_id, PersonalBudget.id).where(PersonalBudget.id.in_(ids))):
        budgets_of.setdefault(citizen_id, []).append(budget_id)
    rows = db.session.execute(
        select(Booking.citizen_id, func.count())
        .join(CardPayment, CardPayment.booking_id == Booking.id)
        .where(
            Booking.citizen_id.in_(budgets_of),
            CardPayment.status == CardPaymentStatus.FAILED,
            CardPayment.created_at >= start,
            CardPayment.created_at < end,
        )
        .group_by(Booking.citizen_id)
        .having(func.count() >= CARD_FAILURES)
    ).all()
    for citizen_id, count in rows:
        for budget_id in budgets_of[citizen_id]:
            yield budget_id, ("card_failures", f"{count} card payments for their care failed in {year}")
