"""Spend facts: the ledger's provider money, kept ready for the market reports.

Every ledger entry into or out of a provider's payable account that is for care (a
capture from a budget hold, card money passed on, a card refund taken back) gets one
``SpendFact`` naming the visit, booking, service, type of support, provider, way of paying
and area it was for. The fact is written by an ``after_flush`` hook in the same database
transaction as the entry, so the two commit or roll back together and can never drift;
payouts to providers (and their reversals) are payments of what is owed, not spend, and
have no fact. ``check()`` (run by `flask ledger check`) recomputes every fact from the
ledger and reports any difference; ``rebuild()`` writes the facts a database is missing.
"""

from __future__ import annotations

from sqlalchemy import Date, and_, case, event, func, insert, literal, or_, select, true
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.util import identity_key

from app.database import UTCDateTime
from app.extensions import db
from app.models import (
    AccountKind,
    Booking,
    BookingCard,
    BookingVisit,
    BudgetType,
    CardPayment,
    CardRefund,
    FundingRoute,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    PaymentCard,
    PaymentMethod,
    PersonalBudget,
    Service,
    SpendFact,
    WayOfPaying,
)
from app.services.ledger import Problem
from app.services.reports.filters import add_months, first_of_month, months_between
from app.uk_time import local_date, local_midnight

# The causes of provider money that is spend: a visit's capture, or a refund of its card payment.
VISIT_CAUSE = "booking_visit"
REFUND_CAUSE = "card_refund"


def way_of_paying(payment_method, budget_type, card_route) -> WayOfPaying:
    """The way of paying from a booking's payment method, its budget's type and its card's
    route (each an enum or its stored text)."""
    if PaymentMethod(payment_method) is PaymentMethod.BUDGET:
        return WayOfPaying.ISF if budget_type is not None and BudgetType(budget_type) is BudgetType.ISF else WayOfPaying.MANAGED
    if card_route is not None and FundingRoute(card_route) is FundingRoute.PREPAID_CARD:
        return WayOfPaying.DIRECT_PAYMENT
    return WayOfPaying.SELF_FUNDED


def _expected(where) -> select:
    """What the facts should be for the payable entries ``where`` selects."""
    refund = aliased(CardRefund)
    refunded = aliased(CardPayment)
    visit_id = case(
        (LedgerTransaction.cause_type == VISIT_CAUSE, LedgerTransaction.cause_id),
        else_=refunded.visit_id,
    ).label("visit_id")
    return (
        select(
            LedgerEntry.id.label("entry_id"),
            LedgerEntry.amount_pence,
            LedgerTransaction.effective_at,
            visit_id,
            Booking.id.label("booking_id"),
            Booking.provider_id,
            Booking.service_id,
            Service.category_id,
            Booking.payment_method,
            Booking.area_district,
            PersonalBudget.budget_type,
            PaymentCard.route.label("card_route"),
        )
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .outerjoin(refund, and_(LedgerTransaction.cause_type == REFUND_CAUSE, refund.id == LedgerTransaction.cause_id))
        .outerjoin(refunded, refunded.id == refund.card_payment_id)
        .join(BookingVisit, BookingVisit.id == visit_id)
        .join(Booking, Booking.id == BookingVisit.booking_id)
        .join(Service, Service.id == Booking.service_id)
        .outerjoin(PersonalBudget, PersonalBudget.id == Booking.budget_id)
        .outerjoin(BookingCard, BookingCard.booking_id == Booking.id)
        .outerjoin(PaymentCard, PaymentCard.id == BookingCard.card_id)
        .where(
            LedgerAccount.kind == AccountKind.PROVIDER_PAYABLE,
            LedgerTransaction.cause_type.in_((VISIT_CAUSE, REFUND_CAUSE)),
            where,
        )
    )


def _fact(row) -> dict:
    return {
        "entry_id": row.entry_id,
        "effective_at": row.effective_at,
        "month": first_of_month(local_date(row.effective_at)),
        "provider_id": row.provider_id,
        "category_id": row.category_id,
        "service_id": row.service_id,
        "booking_id": row.booking_id,
        "visit_id": row.visit_id,
        "way": way_of_paying(row.payment_method, row.budget_type, row.card_route).value,
        "district": row.area_district,
        "amount_pence": row.amount_pence,
    }


def _may_be_provider_money(session: Session, entry: LedgerEntry) -> bool:
    """False only when the entry's account is known (already loaded) and is not a provider's:
    most flushes (funding, holds, releases) then cost no query at all."""
    transaction = session.identity_map.get(identity_key(LedgerTransaction, (entry.transaction_id,)))
    if transaction is not None and transaction.cause_type not in (VISIT_CAUSE, REFUND_CAUSE):
        return False  # a payout, funding...: never care spend (the query below would find nothing)
    account = session.identity_map.get(identity_key(LedgerAccount, (entry.account_id,)))
    return account is None or account.kind is AccountKind.PROVIDER_PAYABLE


@event.listens_for(Session, "after_flush")
def _record_flushed_entries(session: Session, flush_context) -> None:
    entry_ids = [obj.id for obj in session.new if isinstance(obj, LedgerEntry) and _may_be_provider_money(session, obj)]
    if not entry_ids:
        return
    conn = session.connection()
    rows = conn.execute(_expected(LedgerEntry.id.in_(entry_ids))).all()
    if rows:
        conn.execute(insert(SpendFact.__table__), [_fact(row) for row in rows])


def rebuild(batch: int = 5000) -> int:
    """Write every fact the database is missing (after a restore, or on a database made
    before facts were kept). Safe to run again: it writes only what is missing."""
    written = 0
    missing = _expected(~select(SpendFact.entry_id).where(SpendFact.entry_id == LedgerEntry.id).exists()).order_by(LedgerEntry.id)
    while True:
        rows = db.session.execute(missing.limit(batch)).all()
        if not rows:
            return written
        db.session.execute(insert(SpendFact.__table__), [_fact(row) for row in rows])
        db.session.commit()
        written += len(rows)


_COMPARED = ("effective_at", "month", "provider_id", "category_id", "service_id", "booking_id", "visit_id", "way", "district")
_COMPARED += ("amount_pence",)
# Columns compared straight in SQL: the fact's name, then the name in ``_expected``.
_SAME_IN_SQL = (
    ("effective_at", "effective_at"),
    ("provider_id", "provider_id"),
    ("category_id", "category_id"),
    ("service_id", "service_id"),
    ("booking_id", "booking_id"),
    ("visit_id", "visit_id"),
    ("district", "area_district"),
    ("amount_pence", "amount_pence"),
)
_BATCH = 500


def check() -> list[Problem]:
    """Every spend fact agrees with the ledger entry it stands for, and every ledger entry
    of provider money for care has its fact.

    Compared in the database (a council has hundreds of thousands of facts); the facts SQL
    finds different are then compared exactly as ``_fact`` works them out, in Python."""
    expected = _expected(true()).subquery()
    facts = SpendFact.__table__
    differ = [facts.c[kept].is_distinct_from(expected.c[worked]) for kept, worked in _SAME_IN_SQL]
    differ += [facts.c.way != _way_in_sql(expected), facts.c.month.is_distinct_from(_uk_month_in_sql(expected.c.effective_at))]
    # One pass finds both the entries with no fact and the facts that may differ: normally none.
    found = db.session.execute(
        select(expected.c.entry_id, facts.c.entry_id.is_(None))
        .outerjoin(facts, facts.c.entry_id == expected.c.entry_id)
        .where(facts.c.entry_id.is_(None) | or_(*differ))
        .order_by(expected.c.entry_id)
    ).all()
    missing = [entry_id for entry_id, no_fact in found if no_fact]
    problems = []
    if missing:
        message = f"{len(missing)} ledger entries of provider money have no spend fact (first: entry {missing[0]})"
        problems.append(Problem("spend facts", message))
    has_entry = select(expected.c.entry_id).where(expected.c.entry_id == facts.c.entry_id).exists()
    extra, first = db.session.execute(select(func.count(), func.min(facts.c.entry_id)).where(~has_entry)).one()
    if extra:
        message = f"{extra} spend facts stand for no ledger entry of provider money (first: entry {first})"
        problems.append(Problem("spend facts", message))
    disagreement = _first_disagreement([entry_id for entry_id, no_fact in found if not no_fact])
    if disagreement:
        entry_id, names = disagreement
        problems.append(Problem("spend facts", f"the spend fact for entry {entry_id} disagrees with the ledger on {', '.join(names)}"))
    return problems


def _way_in_sql(expected):
    """``way_of_paying`` as a SQL expression over ``_expected``'s columns."""
    budget = expected.c.payment_method == PaymentMethod.BUDGET
    return case(
        (budget & (expected.c.budget_type == BudgetType.ISF), literal(WayOfPaying.ISF.value)),
        (budget, literal(WayOfPaying.MANAGED.value)),
        (expected.c.card_route == FundingRoute.PREPAID_CARD, literal(WayOfPaying.DIRECT_PAYMENT.value)),
        else_=literal(WayOfPaying.SELF_FUNDED.value),
    )


def _uk_month_in_sql(effective_at):
    """The UK calendar month of ``effective_at``, in SQL that SQLite can run too (it knows no
    time zones): each month's first UK midnight is worked out here, over the ledger's dates."""
    earliest, latest = db.session.execute(select(func.min(LedgerTransaction.effective_at), func.max(LedgerTransaction.effective_at))).one()
    if earliest is None:
        return literal(None, Date())
    months = months_between(first_of_month(local_date(earliest)), first_of_month(local_date(latest)))
    return case(
        *((effective_at < literal(local_midnight(add_months(month, 1)), UTCDateTime()), literal(month, Date())) for month in months),
        else_=literal(None, Date()),
    )


def _first_disagreement(candidates: list[int]) -> tuple[int, list[str]] | None:
    """The first candidate whose fact differs from the one ``_fact`` works out, and how."""
    for start in range(0, len(candidates), _BATCH):
        ids = candidates[start : start + _BATCH]
        expected = {row.entry_id: _fact(row) for row in db.session.execute(_expected(LedgerEntry.id.in_(ids)))}
        kept = {}
        for fact in db.session.execute(select(SpendFact.__table__).where(SpendFact.entry_id.in_(ids))).mappings():
            values = dict(fact)
            values["way"] = WayOfPaying(values["way"]).value
            kept[values["entry_id"]] = values
        for entry_id in ids:
            if entry_id not in kept or entry_id not in expected:
                continue  # its fact was deleted since the candidates were found
            differ = [name for name in _COMPARED if kept[entry_id][name] != expected[entry_id][name]]
            if differ:
                return entry_id, differ
    return None
