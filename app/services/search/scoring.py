"""Where a document stands in the best-match order: one integer per document (framework
members by score, then everyone else by CQC quality), and a framework lot's state that
scores its members by the ranking service's own rule.
"""

from __future__ import annotations

from app.services import ranking
from app.services.search.schema import A_REVIEWS, A_UNIT

NO_QUALITY = 255  # in a quality column: no CQC rating
MAX_SCORE = 10_000  # a score out of 100, times 100


def order_key(group: int, score: int, quality: int, price: int, service_id: int) -> int:
    """Best-match order as one integer, smallest first: framework members (group 0) by
    score, then quality, then price; then everyone else (group 1) by CQC quality, then
    price; the service id last, so that the order is total."""
    head = (group * (MAX_SCORE + 1) + (MAX_SCORE - min(MAX_SCORE, score))) * 101 + (100 - quality)
    return (((head << 20) | min(price, (1 << 20) - 1)) << 32) | (service_id & 0xFFFFFFFF)


class LotState:
    """A framework lot as it stands in one snapshot: its settings (from the database) and
    what its live members make of it (the cheapest price for each unit, the average
    quality of the rated ones)."""

    __slots__ = ("any_rated", "average", "cheapest", "id", "info", "key", "members", "reviews")

    def __init__(
        self,
        info: ranking.LotInfo,
        cheapest: dict[str, int],
        average: int,
        any_rated: bool,
        members: int,
        reviews: tuple[int, int] = (0, 0),
    ):
        self.info, self.id = info, info.id
        self.cheapest, self.average, self.any_rated, self.members = cheapest, average, any_rated, members
        self.reviews = reviews  # the members' published reviews: (sum of ratings, count)
        # What the members' scores and order depend on: segments cache their runs by it.
        self.key = (info, tuple(sorted(cheapest.items())), average, reviews)

    def score(self, quality: int, price: int, attrs: tuple) -> tuple[int, int, int]:
        """(score x 100, quality used, price score) of a document with these stored facts,
        by the ranking service's own rule."""
        unit = attrs[A_UNIT]
        return ranking.member_score(
            self.info,
            None if quality == NO_QUALITY else quality,
            price,
            self.cheapest.get(unit, price),
            self.average,
            attrs[A_REVIEWS],
            self.reviews,
        )
