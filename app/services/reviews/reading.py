"""Reading reviews: what the public sees (published reviews, newest first, with their count,
average and how the ratings spread), and what the provider sees (all of its reviews at once)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from app.extensions import db
from app.models import Review

SHOWN = 20  # published reviews listed on a service or provider page, newest first


@dataclass(frozen=True)
class ReviewSummary:
    count: int
    average: float | None  # to one decimal place; None with no reviews
    spread: dict[int, int]  # stars (5 down to 1) -> how many

    def share(self, stars: int) -> int:
        """The whole-number percentage of reviews giving ``stars``."""
        return round(100 * self.spread[stars] / self.count) if self.count else 0


def _of(service_id: int | None, provider_id: int | None):
    if (service_id is None) == (provider_id is None):
        raise ValueError("reviews of one service or of one provider")
    return Review.service_id == service_id if service_id is not None else Review.provider_id == provider_id


def summary(*, now: dt.datetime, service_id: int | None = None, provider_id: int | None = None) -> ReviewSummary:
    """The published reviews' count, average rating and spread, of a service or a provider."""
    rows = db.session.execute(
        select(Review.rating, func.count())
        .where(_of(service_id, provider_id), Review.publishes_at <= now, Review.removed_at.is_(None))
        .group_by(Review.rating)
    ).all()
    spread = dict.fromkeys(range(5, 0, -1), 0)
    spread |= {int(rating): int(count) for rating, count in rows}
    count = sum(spread.values())
    total = sum(stars * n for stars, n in spread.items())
    average = (20 * total + count) // (2 * count) / 10 if count else None  # to one decimal place, halves up
    return ReviewSummary(count, average, spread)


def published(*, now: dt.datetime, service_id: int | None = None, provider_id: int | None = None, limit: int = SHOWN) -> list[Review]:
    """The newest published reviews of a service or a provider."""
    return list(
        db.session.execute(
            select(Review)
            .where(_of(service_id, provider_id), Review.publishes_at <= now, Review.removed_at.is_(None))
            .order_by(Review.created_at.desc(), Review.id.desc())
            .limit(limit)
        ).scalars()
    )


def for_provider(provider_id: int) -> list[Review]:
    """Every review of the provider's services, published or not, newest first."""
    return list(
        db.session.execute(
            select(Review).where(Review.provider_id == provider_id).order_by(Review.created_at.desc(), Review.id.desc())
        ).scalars()
    )


def provider_counts(provider_id: int) -> tuple[int, int]:
    """How many reviews the provider has, and how many of them it has not replied to."""
    total, unanswered = db.session.execute(
        select(func.count(), func.count().filter(Review.replied_at.is_(None))).where(Review.provider_id == provider_id)
    ).one()
    return int(total), int(unanswered)
