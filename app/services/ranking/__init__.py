"""Framework ranking on quality and price.

For every lot of the council's framework, each member service (a listed service in the
lot's category, from a provider approved on the lot) gets a score out of 100::

    score = quality weight x quality score + price weight x price score   (weights per lot)

**Quality score** (0 to 100) comes from the provider's CQC ratings: half from the overall
rating, half from the average of the five key questions (safe, effective, caring,
responsive, well-led). Points per rating: Outstanding 100, Good 80, Requires improvement
40, Inadequate 0. A key question without a rating counts as the overall rating.

**Reviews** by people who used the service can make up part of the quality score: the
lot's review weight (0% unless the council sets it, for example 20%) of it, CQC the rest::

    quality = (100 - review weight)% x CQC score + review weight% x review score

The review score is a Bayesian average out of 5, times 20: the service's own published
reviews weighed with the lot's average rating as if that were the lot's minimum number of
reviews more (``(minimum x lot average + sum of its ratings) / (minimum + its count)``),
so three 5-star reviews do not beat fifty 4.8s, and a service with none is scored at the
lot's average. While no service on the lot has a review, quality is CQC's alone. Each part
is rounded to a whole number (halves up) before they are added.

**Unrated providers** (registered but not yet inspected, or not regulated by CQC) are
neither punished nor rewarded for having no rating: they get the average quality score of
the rated members of the same lot, and the reason says so. When no member of the lot is
rated, every member gets 50.

**Price score** (0 to 100) compares the service's price with the cheapest comparable price
on the lot, that is the lowest price for the same unit (an hour with an hour, a week with a
week): ``100 x cheapest / price``. The cheapest gets 100; twice the cheapest gets 50.

Members are ranked by score (highest first). Equal scores share a rank ("joint 2nd").

Public API (stable: other parts of the product call it):

* ``service_rank(service_id) -> ServiceRank | None``
* ``lot_ranking(lot_id) -> list[ServiceRank]``
* ``service_ranks(service_ids) -> dict[int, ServiceRank]``
* ``rank_lot(lot, members) -> list[ServiceRank]``: the pure rule, for callers that
  already hold the data.
* ``member_score`` (the rule for one member, given its lot's cheapest price and average
  quality), ``quality_from_ratings``, ``average_quality`` and ``make_rank``: the parts of
  the rule, which search uses to rank from its index one member at a time
  (services/search/ranks.py keeps each lot's scores in memory and counts; it has no formula of
  its own).

Everything here is read from the database on each call, so a change of price, rating or
membership shows on the very next request: provider and commissioner pages use it. The
public service page asks search (``search.listed_service_rank``), which answers from the
in-memory index without loading every member of the lot.
"""

from app.services.facade import seal
from app.services.ranking.ranks import ServiceRank, format_average, format_score, make_rank, rank_lot
from app.services.ranking.reading import lot_info, lot_ranking, rank_lots, service_rank, service_ranks
from app.services.ranking.rule import (
    NO_RATED_MEMBERS_QUALITY,
    RATING_POINTS,
    LotInfo,
    Member,
    average_quality,
    blended_quality,
    member_score,
    price_score,
    quality_from_ratings,
    rated_quality,
    review_points,
)

__all__ = [
    "NO_RATED_MEMBERS_QUALITY",
    "RATING_POINTS",
    "LotInfo",
    "Member",
    "ServiceRank",
    "average_quality",
    "blended_quality",
    "format_average",
    "format_score",
    "lot_info",
    "lot_ranking",
    "make_rank",
    "member_score",
    "price_score",
    "quality_from_ratings",
    "rank_lot",
    "rank_lots",
    "rated_quality",
    "review_points",
    "service_rank",
    "service_ranks",
]

seal(__name__)
