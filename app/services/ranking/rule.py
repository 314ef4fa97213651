"""The rule: quality from CQC ratings and from reviews, price against the lot's cheapest, and
a member's score from them with the lot's weights (see the package's docstring)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.models import CQCRating, PriceUnit

RATING_POINTS = {
    CQCRating.OUTSTANDING: 100,
    CQCRating.GOOD: 80,
    CQCRating.REQUIRES_IMPROVEMENT: 40,
    CQCRating.INADEQUATE: 0,
}
NO_RATED_MEMBERS_QUALITY = 50


@dataclass(frozen=True)
class LotInfo:
    id: int
    name: str
    quality_weight: int
    price_weight: int
    review_weight: int = 0  # % of the quality score from reviews
    review_minimum: int = 10  # reviews' worth of the lot's average each service is weighed with


@dataclass(frozen=True)
class Member:
    """What the rule needs to know about one member service of a lot."""

    service_id: int
    title: str
    price_pence: int
    price_unit: PriceUnit
    overall: CQCRating | None
    # Ratings for safe, effective, caring, responsive, well-led, in that order.
    key_questions: tuple[CQCRating | None, ...] = (None, None, None, None, None)
    cqc_regulated: bool = True
    # Its published reviews: how many, and their ratings added up.
    review_count: int = 0
    review_sum: int = 0


def rated_quality(member: Member) -> int | None:
    """The quality score from CQC ratings, or None when the provider has no overall rating."""
    return quality_from_ratings(member.overall, member.key_questions)


def quality_from_ratings(overall: CQCRating | None, key_questions: Sequence[CQCRating | None]) -> int | None:
    if overall is None:
        return None
    points = RATING_POINTS[overall]
    keys = [RATING_POINTS[r] if r is not None else points for r in key_questions]
    return round(points / 2 + sum(keys) / len(keys) / 2)


def average_quality(total: int, count: int) -> int:
    """What an unrated member is scored: the average of the rated members' quality."""
    return round(total / count) if count else NO_RATED_MEMBERS_QUALITY


def price_score(price_pence: int, cheapest_pence: int) -> int:
    return round(100 * cheapest_pence / price_pence) if price_pence > 0 else 0


def _half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


def review_points(own: tuple[int, int], lot_reviews: tuple[int, int], minimum: int) -> int | None:
    """The review score out of 100: 20 x the Bayesian average of the service's own reviews
    (``own``: sum of ratings, count) and ``minimum`` reviews' worth of the lot's average
    (``lot_reviews``: sum, count over the lot's members). None when the lot has none."""
    lot_sum, lot_count = lot_reviews
    if lot_count <= 0:
        return None
    own_sum, own_count = own
    if minimum + own_count == 0:
        return _half_up(20 * lot_sum, lot_count)
    return _half_up(20 * (minimum * lot_sum + own_sum * lot_count), lot_count * (minimum + own_count))


def blended_quality(lot: LotInfo, cqc: int, own: tuple[int, int], lot_reviews: tuple[int, int]) -> int:
    """The quality score: CQC's, with the lot's review weight of it from reviews."""
    if not lot.review_weight:
        return cqc
    people = review_points(own, lot_reviews, lot.review_minimum)
    if people is None:
        return cqc
    return _half_up((100 - lot.review_weight) * cqc + lot.review_weight * people, 100)


def member_score(
    lot: LotInfo,
    rated: int | None,
    price_pence: int,
    cheapest_pence: int,
    average: int,
    own_reviews: tuple[int, int] = (0, 0),
    lot_reviews: tuple[int, int] = (0, 0),
) -> tuple[int, int, int]:
    """One member's (score, quality score, price score): the rule itself, the one place it
    is written. ``rated`` is its quality from CQC ratings, None when it has none (it is then
    scored at the lot's ``average``); ``cheapest_pence`` is the lot's lowest price for the
    same unit; ``own_reviews`` and ``lot_reviews`` are (sum of ratings, count) of its
    published reviews and of all the lot's members'. The score is out of 100, times 100: a
    whole number, so equal scores are exactly equal."""
    quality = blended_quality(lot, average if rated is None else rated, own_reviews, lot_reviews)
    price = price_score(price_pence, cheapest_pence)
    return lot.quality_weight * quality + lot.price_weight * price, quality, price
