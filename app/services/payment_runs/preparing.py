"""Preparing a payment run: what each provider is owed for care in or before the period.

Set-based, so a run over a million visits takes seconds: one statement claims every eligible
spend fact as an item of its provider's line, one totals the lines from their items, and one
frees the items of lines that will not be paid this time (no confirmed bank account, or
nothing due once adjustments are taken off). Totals always come from the items claimed, so a
fact written while the run is prepared is either in a line and its totals, or left for the
next run. Eligible: a ledger entry changing what a provider is owed (a spend fact) for a
visit that started before the period ended, claimed by no run, and not held by an open dispute.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, exists, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from app.database import utcnow, write_transaction
from app.extensions import db
from app.models import (
    BankAccountStatus,
    BookingVisit,
    DisputeState,
    LineStatus,
    PaymentRun,
    PaymentRunItem,
    PaymentRunLine,
    ProviderBankAccount,
    RunStatus,
    SpendFact,
    User,
    VisitRecord,
)
from app.services import audit
from app.services.errors import ValidationError
from app.services.payment_runs.schedule import period_ending
from app.uk_time import local_midnight, uk_today


def live_run_for(ends_on: dt.date) -> PaymentRun | None:
    return db.session.execute(
        select(PaymentRun).where(PaymentRun.ends_on == ends_on, PaymentRun.status != RunStatus.CANCELLED)
    ).scalar_one_or_none()


def prepare(last_day: dt.date, *, by: User | None, now: dt.datetime | None = None) -> PaymentRun:
    """Prepare the run for the period ending on ``last_day`` (idempotent: the period's live
    run if there is one). ``by`` None: the scheduler."""
    now = now or utcnow()
    starts_on, ends_on = period_ending(last_day)
    if ends_on > uk_today(now):
        raise ValidationError({"period_end": f"The period ending {last_day.isoformat()} has not ended yet: runs pay in arrears"})
    existing = live_run_for(ends_on)
    if existing is not None:
        return existing
    try:
        with write_transaction():
            _one_at_a_time()
            run = PaymentRun(
                starts_on=starts_on, ends_on=ends_on, status=RunStatus.PREPARED, prepared_by_id=by.id if by else None, prepared_at=now
            )
            db.session.add(run)
            db.session.flush()
            _claim_items(run, cutoff=local_midnight(ends_on))
            _total_lines(run)
            _withhold_unpayable(run)
            _total_run(run)
            audit.record(
                by,
                "payment_run.prepared",
                "payment_run",
                run.id,
                after={"period": f"{starts_on} to {last_day}", "net_pence": run.net_pence},
                at=now,
            )
    except IntegrityError:
        db.session.rollback()
        existing = live_run_for(ends_on)
        if existing is not None:
            return existing
        raise
    return run


# Claiming a big council's period is one statement over every visit in it (about 22 s for
# a million on a quiet 2-core machine: bench/payment_runs_bench.py): longer than a page's
# statement timeout allows when the machine is busy, so preparing a run allows it longer.
PREPARE_STATEMENT_TIMEOUT = "10min"


def _one_at_a_time() -> None:
    """Runs are prepared one at a time (PostgreSQL: a transaction-level advisory lock;
    SQLite: the write transaction already holds the database's only write lock), each
    statement allowed PREPARE_STATEMENT_TIMEOUT (for this transaction only)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(741013)"))
        db.session.execute(text(f"SET LOCAL statement_timeout = '{PREPARE_STATEMENT_TIMEOUT}'"))


def _eligible(cutoff: dt.datetime):
    """The spend facts a run for a period ending at ``cutoff`` pays (a select of facts)."""
    claimed = exists().where(PaymentRunItem.entry_id == SpendFact.entry_id)
    disputed = exists().where(VisitRecord.visit_id == SpendFact.visit_id, VisitRecord.dispute_state == DisputeState.OPEN)
    paid_before = exists().where(PaymentRunItem.visit_id == SpendFact.visit_id)
    return (
        select(
            SpendFact.entry_id,
            SpendFact.provider_id,
            SpendFact.visit_id,
            SpendFact.amount_pence,
            (paid_before | (SpendFact.amount_pence < 0)).label("adj"),
        )
        .join(BookingVisit, BookingVisit.id == SpendFact.visit_id)
        .where(BookingVisit.starts_at < cutoff, ~claimed, ~disputed)
    )


def _claim_items(run: PaymentRun, *, cutoff: dt.datetime) -> None:
    eligible = _eligible(cutoff).subquery()
    providers = select(eligible.c.provider_id).distinct()
    db.session.execute(
        insert(PaymentRunLine).from_select(
            [
                "run_id",
                "provider_id",
                "status",
                "withheld_reason",
                "visit_count",
                "gross_pence",
                "adjustments_pence",
                "net_pence",
                "reference",
            ],
            select(
                db.literal(run.id),
                providers.subquery().c.provider_id,
                db.literal(LineStatus.WITHHELD.value),  # until its totals show it pays something
                db.literal(""),
                db.literal(0),
                db.literal(0),
                db.literal(0),
                db.literal(0),
                db.literal(""),
            ),
        )
    )
    lines = select(PaymentRunLine.id, PaymentRunLine.provider_id).where(PaymentRunLine.run_id == run.id).subquery()
    eligible = _eligible(cutoff).subquery()
    db.session.execute(
        insert(PaymentRunItem).from_select(
            ["entry_id", "line_id", "visit_id", "amount_pence", "is_adjustment"],
            select(eligible.c.entry_id, lines.c.id, eligible.c.visit_id, eligible.c.amount_pence, eligible.c.adj).join(
                lines, lines.c.provider_id == eligible.c.provider_id
            ),
        )
    )


def _line_totals(run_id: int):
    item = PaymentRunItem
    return (
        select(
            item.line_id.label("line_id"),
            func.count(func.distinct(db.case((item.is_adjustment, None), else_=item.visit_id))).label("visits"),
            func.coalesce(func.sum(db.case((item.is_adjustment, 0), else_=item.amount_pence)), 0).label("gross"),
            func.coalesce(func.sum(db.case((item.is_adjustment, item.amount_pence), else_=0)), 0).label("adjustments"),
        )
        .join(PaymentRunLine, PaymentRunLine.id == item.line_id)
        .where(PaymentRunLine.run_id == run_id)
        .group_by(item.line_id)
        .subquery()
    )


def _total_lines(run: PaymentRun) -> None:
    totals = _line_totals(run.id)
    db.session.execute(
        update(PaymentRunLine)
        .where(PaymentRunLine.id == totals.c.line_id)
        .values(
            visit_count=totals.c.visits,
            gross_pence=totals.c.gross,
            adjustments_pence=totals.c.adjustments,
            net_pence=totals.c.gross + totals.c.adjustments,
            # The payee sees it on their statement: "PR0012 P345" (run 12, provider 345).
            reference=db.literal(f"PR{run.id:04d} P") + func.cast(PaymentRunLine.provider_id, db.String),
        )
    )
    confirmed = select(ProviderBankAccount.id).where(
        ProviderBankAccount.provider_id == PaymentRunLine.provider_id, ProviderBankAccount.status == BankAccountStatus.CONFIRMED
    )
    db.session.execute(update(PaymentRunLine).where(PaymentRunLine.run_id == run.id).values(bank_account_id=confirmed.scalar_subquery()))


def _withhold_unpayable(run: PaymentRun) -> None:
    """Lines with something due and a confirmed account to pay it to are paid; the others
    are kept (so the council sees them) but hold no items: what they would have paid waits
    for the next run."""
    mine = PaymentRunLine.run_id == run.id
    db.session.execute(
        update(PaymentRunLine)
        .where(mine, PaymentRunLine.net_pence > 0, PaymentRunLine.bank_account_id.is_not(None))
        .values(status=LineStatus.TO_PAY.value)
    )
    reasons = (
        (PaymentRunLine.net_pence <= 0, "Nothing due this run: money owed back is taken off later payments"),
        (PaymentRunLine.bank_account_id.is_(None), "No confirmed bank account: ask the provider to add one, then confirm it"),
    )
    for condition, reason in reasons:
        db.session.execute(
            update(PaymentRunLine)
            .where(mine, PaymentRunLine.status == LineStatus.WITHHELD, PaymentRunLine.withheld_reason == "", condition)
            .values(withheld_reason=reason)
        )
    withheld = select(PaymentRunLine.id).where(mine, PaymentRunLine.status == LineStatus.WITHHELD)
    db.session.execute(PaymentRunItem.__table__.delete().where(PaymentRunItem.line_id.in_(withheld)))


def _total_run(run: PaymentRun) -> None:
    paid = and_(PaymentRunLine.run_id == run.id, PaymentRunLine.status == LineStatus.TO_PAY)
    visits, gross, adjustments = db.session.execute(
        select(
            func.coalesce(func.sum(PaymentRunLine.visit_count), 0),
            func.coalesce(func.sum(PaymentRunLine.gross_pence), 0),
            func.coalesce(func.sum(PaymentRunLine.adjustments_pence), 0),
        ).where(paid)
    ).one()
    run.visit_count, run.gross_pence, run.adjustments_pence, run.net_pence = (
        int(visits),
        int(gross),
        int(adjustments),
        int(gross + adjustments),
    )
    db.session.flush()
