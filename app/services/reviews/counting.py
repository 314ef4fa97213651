"""A service's published reviews as two numbers search and the framework ranking read: how
many (``services.review_count``) and their ratings added up (``services.review_sum``).

A review enters its service's totals once, when it is published: at once when the provider
replies, otherwise when ``flask reviews publish`` (run from cron, hourly) finds it 7 days
old; it leaves them if the council takes it down. Each step is a conditional update of the
review's own row (``counted_at`` set only where it was not; ``removed_at`` set only where it
was not), so however many runs and moderators act at once, a review is added at most once
and taken off at most once, and only if it was added. The totals change by increments, which
PostgreSQL applies to the newest row, and changing a service queues its search document to
be rewritten (services/search/outbox.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import func, select, update

from app.database import utcnow, write_transaction
from app.extensions import db
from app.models import Review, Service

BATCH = 500


def _add(totals: dict[int, list[int]], service_id: int, rating: int, sign: int) -> None:
    entry = totals.setdefault(service_id, [0, 0])
    entry[0] += sign
    entry[1] += sign * rating


def _apply(totals: dict[int, list[int]]) -> None:
    for service_id, (count, total) in sorted(totals.items()):
        if count:
            db.session.execute(
                update(Service)
                .where(Service.id == service_id)
                .values(review_count=Service.review_count + count, review_sum=Service.review_sum + total)
                .execution_options(synchronize_session=False)
            )


def count_published(review_ids: Iterable[int], *, now: dt.datetime) -> int:
    """Add to their services' totals those of ``review_ids`` that are published by ``now``,
    not taken down and not counted yet; in the caller's transaction. Returns how many."""
    totals: dict[int, list[int]] = {}
    ids = sorted(set(review_ids))
    for start in range(0, len(ids), BATCH):
        rows = db.session.execute(
            update(Review)
            .where(
                Review.id.in_(ids[start : start + BATCH]),
                Review.counted_at.is_(None),
                Review.removed_at.is_(None),
                Review.publishes_at <= now,
            )
            .values(counted_at=now)
            .returning(Review.service_id, Review.rating)
            .execution_options(synchronize_session=False)
        ).all()
        for service_id, rating in rows:
            _add(totals, service_id, rating, 1)
    _apply(totals)
    return sum(count for count, _ in totals.values())


def uncount(review_id: int) -> None:
    """Take a review just taken down off its service's totals, if it was counted; in the
    caller's transaction, after the conditional update that took it down."""
    row = db.session.execute(select(Review.service_id, Review.rating, Review.counted_at).where(Review.id == review_id)).one()
    if row.counted_at is not None:
        _apply({row.service_id: [-1, -row.rating]})


def publish_due(*, now: dt.datetime | None = None) -> int:
    """Count every review whose 7 days are up (for cron: running it twice, or two at once,
    counts each review once). Returns how many it counted."""
    now = now or utcnow()
    counted = 0
    while True:
        ids = (
            db.session.execute(
                select(Review.id)
                .where(Review.counted_at.is_(None), Review.removed_at.is_(None), Review.publishes_at <= now)
                .order_by(Review.id)
                .limit(BATCH)
            )
            .scalars()
            .all()
        )
        if not ids:
            return counted
        with write_transaction():
            done = count_published(ids, now=now)
        counted += done
        if not done:  # all taken by a run at the same time
            return counted


def totals_differ() -> list[tuple[int, tuple[int, int], tuple[int, int]]]:
    """Services whose totals are not what their counted reviews add up to: (service id,
    (count, sum) kept, (count, sum) from the reviews). Empty when all is well."""
    counted = (
        select(Review.service_id, func.count().label("n"), func.sum(Review.rating).label("total"))
        .where(Review.counted_at.is_not(None), Review.removed_at.is_(None))
        .group_by(Review.service_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Service.id, Service.review_count, Service.review_sum, counted.c.n, counted.c.total)
        .outerjoin(counted, counted.c.service_id == Service.id)
        .where((Service.review_count != func.coalesce(counted.c.n, 0)) | (Service.review_sum != func.coalesce(counted.c.total, 0)))
        .order_by(Service.id)
    ).all()
    return [(r[0], (r[1], r[2]), (int(r[3] or 0), int(r[4] or 0))) for r in rows]
