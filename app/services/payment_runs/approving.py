"""Approving a payment run: a second person moves each line's money from owed to paid, once.

Approval is resumable. It first marks the run as being approved (who, and the Bacs dates);
then it pays the lines in batches, each line in the ledger under its own idempotency key and
by a conditional update of the line, so a run killed at any moment and approved again pays
each provider exactly once; last it marks the run approved and tells each provider.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import case, func, select, update

from app.database import utcnow, write_transaction
from app.extensions import db
from app.formatting import format_date, format_pence
from app.models import (
    AccountKind,
    BookingVisit,
    LineStatus,
    OrgRole,
    PaymentRun,
    PaymentRunItem,
    PaymentRunLine,
    ProviderStaff,
    Role,
    RunStatus,
    TransactionKind,
    User,
)
from app.services import audit, council, ledger, notifications
from app.services.errors import Conflict, NotFound, ValidationError
from app.services.ledger import Actor
from app.services.payment_runs.schedule import bacs_dates
from app.uk_time import uk_today

BATCH = 250


class SamePerson(Conflict):
    """The one who prepared a run cannot approve it."""


def paid_account():
    return ledger.account(AccountKind.PROVIDER_PAID, "providers", "Paid to providers by payment runs")


def may_approve(run: PaymentRun, user: User) -> bool:
    return user.role in (Role.COMMISSIONER, Role.ADMIN) and user.id != run.prepared_by_id


def approve(run_id: int, *, by: User, now: dt.datetime | None = None) -> PaymentRun:
    now = now or utcnow()
    run = _start(run_id, by=by, now=now)
    if run.status is RunStatus.APPROVED:
        return run
    # A batch can come back empty while lines are left: another approval (a retry, a double
    # click) held them and paid them meanwhile. Done when none is left to pay.
    while _pay_batch(run.id, by=by, now=now) or _left_to_pay(run.id):
        pass
    return _finish(run.id, by=by, now=now)


def _left_to_pay(run_id: int) -> int:
    db.session.rollback()
    return db.session.execute(
        select(func.count()).where(PaymentRunLine.run_id == run_id, PaymentRunLine.status == LineStatus.TO_PAY)
    ).scalar_one()


def _start(run_id: int, *, by: User, now: dt.datetime) -> PaymentRun:
    with write_transaction():
        run = db.session.get(PaymentRun, run_id, with_for_update=True)
        if run is None:
            raise NotFound("No such payment run")
        if run.status is RunStatus.APPROVED:
            return run
        if run.status is RunStatus.CANCELLED:
            raise Conflict("This payment run was cancelled")
        if not may_approve(run, by):
            raise SamePerson("The person who prepared a payment run cannot approve it: another commissioner must")
        if run.status is RunStatus.PREPARED:
            _require_originator()
            run.processing_date, run.pay_date = bacs_dates(uk_today(now))
            run.status = RunStatus.APPROVING
            run.approved_by_id = by.id
            run.approval_started_at = now
    return run


def _require_originator() -> None:
    settings = council.current()
    if not (settings.bank_sort_code and settings.bank_account_number and settings.bacs_user_number):
        raise ValidationError(
            {"run": "Set the council's bank account and Bacs service user number in Council settings before approving a payment run"}
        )


def _pay_batch(run_id: int, *, by: User, now: dt.datetime) -> int:
    """Pay the next batch of unpaid lines; returns how many it paid (0: none left)."""
    with write_transaction():
        lines = list(
            db.session.execute(
                select(PaymentRunLine)
                .where(PaymentRunLine.run_id == run_id, PaymentRunLine.status == LineStatus.TO_PAY)
                .order_by(PaymentRunLine.id)
                .limit(BATCH)
                .with_for_update(of=PaymentRunLine)
            ).scalars()
        )
        if lines:
            _pay_lines(lines, by=by, now=now)
    return len(lines)


def _pay_lines(lines: list[PaymentRunLine], *, by: User, now: dt.datetime) -> None:
    """Each line's net moved from what its provider is owed to paid, under the line's own
    idempotency key, and the lines marked paid: in a few statements for the whole batch."""
    paid_to = paid_account()
    owed = ledger.provider_payable_accounts(line.provider for line in lines)
    movements = [
        ledger.Movement(
            [(owed[line.provider_id], -line.net_pence), (paid_to, line.net_pence)],
            key=f"payment-run:{line.run_id}:line:{line.id}",
            cause=("payment_run_line", line.id),
            memo=f"Payment run {line.run_id}: {line.provider.name}, {line.visit_count} visits, reference {line.reference}",
        )
        for line in lines
    ]
    posted = ledger.post_many(TransactionKind.PAYOUT, movements, actor=Actor.person(by), effective_at=now)
    table = PaymentRunLine.__table__
    line_ids = [line.id for line in lines]
    transaction = case({line.id: posted[movement.key] for line, movement in zip(lines, movements, strict=True)}, value=table.c.id)
    changed = db.session.execute(
        update(table)
        .where(table.c.id.in_(line_ids), table.c.status == LineStatus.TO_PAY.value)
        .values(status=LineStatus.PAID.value, payout_transaction_id=transaction, paid_at=now)
    ).rowcount
    if changed != len(lines):
        raise Conflict(f"Lines of payment run {lines[0].run_id} were paid by someone else at the same moment")
    for line in lines:
        db.session.expire(line)


def _finish(run_id: int, *, by: User, now: dt.datetime) -> PaymentRun:
    with write_transaction():
        run = db.session.get(PaymentRun, run_id, with_for_update=True)
        if run.status is RunStatus.APPROVED:
            return run
        _days_to_pay(run)
        run.status = RunStatus.APPROVED
        run.approved_at = now
        audit.record(
            by,
            "payment_run.approved",
            "payment_run",
            run.id,
            before={"status": "prepared"},
            after={"status": "approved", "net_pence": run.net_pence, "pay_date": run.pay_date.isoformat()},
            at=now,
        )
        _tell_providers(run, now=now)
    return run


def _days_to_pay(run: PaymentRun) -> None:
    """Each paid line's mean days from a visit to the day its money arrives."""
    rows = db.session.execute(
        select(PaymentRunItem.line_id, func.count(), func.sum(_days_before(run.pay_date, BookingVisit.starts_at)))
        .join(BookingVisit, BookingVisit.id == PaymentRunItem.visit_id)
        .join(PaymentRunLine, PaymentRunLine.id == PaymentRunItem.line_id)
        .where(PaymentRunLine.run_id == run.id, PaymentRunItem.is_adjustment.is_(False))
        .group_by(PaymentRunItem.line_id)
    ).all()
    if rows:
        db.session.execute(
            update(PaymentRunLine),
            [{"id": line_id, "mean_days_to_pay": round(float(total_days) / count)} for line_id, count, total_days in rows],
        )


def _days_before(day: dt.date, moment):
    """Whole days from ``moment`` (a UTC timestamp column) to ``day``, in SQL on both databases."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.cast(day, db.Date) - func.cast(func.timezone("Europe/London", moment), db.Date)
    return func.julianday(day.isoformat()) - func.julianday(func.date(moment))


def _owners_and_managers(run_id: int) -> dict[int, list[User]]:
    """The owners and managers of each provider the run pays, by provider id."""
    paid = select(PaymentRunLine.provider_id).where(PaymentRunLine.run_id == run_id, PaymentRunLine.status == LineStatus.PAID)
    people: dict[int, list[User]] = {}
    for provider_id, person in db.session.execute(
        select(ProviderStaff.provider_id, User)
        .join(User, ProviderStaff.user_id == User.id)
        .where(ProviderStaff.provider_id.in_(paid), ProviderStaff.org_role.in_([OrgRole.OWNER, OrgRole.MANAGER]))
        .order_by(ProviderStaff.provider_id, User.id)
    ):
        people.setdefault(provider_id, []).append(person)
    return people


def _tell_providers(run: PaymentRun, *, now: dt.datetime) -> None:
    """Every paid provider's owners are told (in-app and by email) once."""
    untold = (PaymentRunLine.run_id == run.id, PaymentRunLine.status == LineStatus.PAID, PaymentRunLine.notified_at.is_(None))
    lines = db.session.execute(select(PaymentRunLine).where(*untold).order_by(PaymentRunLine.id)).scalars().all()
    people = _owners_and_managers(run.id)
    for line in lines:
        subject = f"Payment of {format_pence(line.net_pence)} on {format_date(run.pay_date)}"
        body = (
            f"The council is paying {line.provider.name} {format_pence(line.net_pence)} for {line.visit_count} visits "
            f"delivered up to {format_date(run.last_day)}. It reaches your bank on {format_date(run.pay_date)} "
            f"with the reference {line.reference}. The remittance advice lists each visit."
        )
        for person in people.get(line.provider_id, []):
            notifications.notify(person, subject, body, link=f"/provider/payments/{line.id}")
    db.session.execute(update(PaymentRunLine).where(*untold, PaymentRunLine.id.in_([line.id for line in lines])).values(notified_at=now))
