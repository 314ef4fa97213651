"""Finding payment runs and their lines, and cancelling a run before it is approved."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, select
from sqlalchemy.orm import selectinload

from app.database import utcnow, write_transaction
from app.extensions import db
from app.models import LineStatus, PaymentRun, PaymentRunItem, PaymentRunLine, RunStatus, User
from app.services import audit
from app.services.errors import Conflict, NotFound
from app.services.pagination import Page, paginate

LINES_PER_PAGE = 50


def all_runs() -> list[PaymentRun]:
    return list(db.session.execute(select(PaymentRun).order_by(PaymentRun.ends_on.desc(), PaymentRun.id.desc())).scalars())


def get_run(run_id: int) -> PaymentRun:
    run = db.session.get(PaymentRun, run_id)
    if run is None:
        raise NotFound("No such payment run")
    return run


def _lines(run: PaymentRun):
    return (
        select(PaymentRunLine)
        .options(selectinload(PaymentRunLine.bank_account))
        .where(PaymentRunLine.run_id == run.id)
        .order_by(PaymentRunLine.status, PaymentRunLine.net_pence.desc(), PaymentRunLine.id)
    )


def lines_of(run: PaymentRun) -> list[PaymentRunLine]:
    return list(db.session.execute(_lines(run)).scalars())


def lines_page(run: PaymentRun, page: int = 1, per_page: int = LINES_PER_PAGE) -> Page[PaymentRunLine]:
    """One page of a run's lines, in ``lines_of``'s order (a run can pay thousands of providers)."""
    return paginate(_lines(run), page, per_page)


def mean_days_to_pay(run_ids: list[int]) -> dict[int, int]:
    """Each approved run's mean days from a visit to the day its money arrived, over the
    visits it paid (its lines' means, weighted by their visits), by run id."""
    if not run_ids:
        return {}
    weighted = func.sum(PaymentRunLine.mean_days_to_pay * PaymentRunLine.visit_count)
    visits = func.sum(PaymentRunLine.visit_count)
    rows = db.session.execute(
        select(PaymentRunLine.run_id, weighted, visits)
        .where(PaymentRunLine.run_id.in_(run_ids), PaymentRunLine.mean_days_to_pay.is_not(None), PaymentRunLine.visit_count > 0)
        .group_by(PaymentRunLine.run_id)
    ).all()
    return {run_id: round(int(days) / int(count)) for run_id, days, count in rows if count}


def line_for_provider(line_id: int, provider_id: int) -> PaymentRunLine:
    """A provider's own paid line (anyone else's, or one not paid yet: NotFound)."""
    line = db.session.get(PaymentRunLine, line_id)
    if line is None or line.provider_id != provider_id or line.status is not LineStatus.PAID:
        raise NotFound("No such payment")
    return line


def paid_lines_for_provider(provider_id: int) -> list[PaymentRunLine]:
    return list(
        db.session.execute(
            select(PaymentRunLine)
            .join(PaymentRun, PaymentRun.id == PaymentRunLine.run_id)
            .where(PaymentRunLine.provider_id == provider_id, PaymentRunLine.status == LineStatus.PAID)
            .order_by(PaymentRun.ends_on.desc())
        ).scalars()
    )


def item_count(run: PaymentRun) -> int:
    return db.session.execute(
        select(func.count()).select_from(PaymentRunItem).join(PaymentRunLine).where(PaymentRunLine.run_id == run.id)
    ).scalar_one()


def cancel(run_id: int, *, by: User, reason: str, now: dt.datetime | None = None) -> PaymentRun:
    """Discard a run not yet approved: its items are free for the next run."""
    now = now or utcnow()
    with write_transaction():
        run = db.session.get(PaymentRun, run_id, with_for_update=True)
        if run is None:
            raise NotFound("No such payment run")
        if run.status is not RunStatus.PREPARED:
            raise Conflict(f"Only a run ready to approve can be cancelled: this one is {run.status.label.lower()}")
        lines = select(PaymentRunLine.id).where(PaymentRunLine.run_id == run.id)
        db.session.execute(delete(PaymentRunItem).where(PaymentRunItem.line_id.in_(lines)))
        run.status = RunStatus.CANCELLED
        run.cancelled_at = now
        audit.record(
            by,
            "payment_run.cancelled",
            "payment_run",
            run.id,
            before={"status": "prepared"},
            after={"status": "cancelled"},
            note=reason,
            at=now,
        )
    return run
