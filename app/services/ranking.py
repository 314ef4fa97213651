"""Framework ranking on quality and price.

For every lot of the council's framework, each member service (a listed service in the
lot's category, from a provider approved on the lot) gets a score out of 100::

    score = quality weight x quality score + price weight x price score   (weights per lot)

**Quality score** (0 to 100) comes from the provider's CQC ratings: half from the overall
rating, half from the average of the five key questions (safe, effective, caring,
responsive, well-led). Points per rating: Outstanding 100, Good 80, Requires improvement
40, Inadequate 0. A key question without a rating counts as the overall rating.

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

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.formatting import format_pence, ordinal
from app.models import (
    CQCRating,
    FrameworkLot,
    FrameworkMembership,
    MembershipStatus,
    PriceUnit,
    Provider,
    ProviderStatus,
    Service,
    ServiceStatus,
)
from app.models.providers import KEY_QUESTIONS

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


@dataclass(frozen=True)
class ServiceRank:
    """A service's place on a framework lot, with the reasons in plain words."""

    service_id: int
    lot_id: int
    lot_name: str
    rank: int
    of: int
    score: float  # 0 to 100, two decimals at most
    quality_score: int  # 0 to 100
    price_score: int  # 0 to 100
    quality_weight: int
    price_weight: int
    joint: bool
    # What the reasons are worked out from: they are only written when shown.
    price_pence: int = dataclasses.field(repr=False, default=0)
    price_unit: PriceUnit = dataclasses.field(repr=False, default=PriceUnit.HOUR)
    cheapest_pence: int = dataclasses.field(repr=False, default=0)
    overall: CQCRating | None = dataclasses.field(repr=False, default=None)
    key_questions: tuple[CQCRating | None, ...] = dataclasses.field(repr=False, default=(None, None, None, None, None))
    cqc_regulated: bool = dataclasses.field(repr=False, default=True)
    lot_average_quality: int = dataclasses.field(repr=False, default=NO_RATED_MEMBERS_QUALITY)
    lot_has_rated_members: bool = dataclasses.field(repr=False, default=False)

    @property
    def quality_basis(self) -> str:
        if self.overall is None:
            return _unrated_basis(self.cqc_regulated, self.lot_average_quality, self.lot_has_rated_members)
        return _rated_basis(self.overall, self.key_questions)

    @property
    def sentence(self) -> str:
        """'Ranked 2nd of 14 on the Home care framework: quality 88/100, price 93/100'."""
        joint = "joint " if self.joint else ""
        return (
            f"Ranked {joint}{ordinal(self.rank)} of {self.of} on the {self.lot_name} framework: "
            f"quality {self.quality_score}/100, price {self.price_score}/100"
        )

    @property
    def reasons(self) -> list[str]:
        unit = self.price_unit.per_label
        if self.price_pence <= self.cheapest_pence:
            price = (
                f"Price {self.price_score}/100: {format_pence(self.price_pence)} {unit} is the lowest price {unit} on this framework lot."
            )
        else:
            price = (
                f"Price {self.price_score}/100: {format_pence(self.price_pence)} {unit}, against the "
                f"lowest on this framework lot of {format_pence(self.cheapest_pence)} {unit}."
            )
        weights = (
            f"Score {format_score(self.score)} out of 100: the council counts quality as "
            f"{self.quality_weight}% and price as {self.price_weight}% on the {self.lot_name} lot."
        )
        return [f"Quality {self.quality_score}/100: {self.quality_basis}", price, weights]

    def as_dict(self) -> dict:
        return {
            "lot_id": self.lot_id,
            "lot_name": self.lot_name,
            "rank": self.rank,
            "of": self.of,
            "joint": self.joint,
            "score": self.score,
            "quality_score": self.quality_score,
            "price_score": self.price_score,
            "quality_weight": self.quality_weight,
            "price_weight": self.price_weight,
            "sentence": self.sentence,
            "reasons": self.reasons,
        }


def format_score(score: float) -> str:
    return f"{score:.2f}".rstrip("0").rstrip(".") if score != int(score) else str(int(score))


# The rule ----------------------------------------------------------------------------------


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


def member_score(lot: LotInfo, rated: int | None, price_pence: int, cheapest_pence: int, average: int) -> tuple[int, int, int]:
    """One member's (score, quality score, price score): the rule itself, the one place it
    is written. ``rated`` is its quality from CQC ratings, None when it has none (it is then
    scored at the lot's ``average``); ``cheapest_pence`` is the lot's lowest price for the
    same unit. The score is out of 100, times 100: a whole number, so equal scores are
    exactly equal."""
    quality = average if rated is None else rated
    price = price_score(price_pence, cheapest_pence)
    return lot.quality_weight * quality + lot.price_weight * price, quality, price


def _rated_basis(overall: CQCRating, key_questions: Sequence[CQCRating | None]) -> str:
    groups: dict[CQCRating, list[str]] = {}
    for (_, label), rating in zip(KEY_QUESTIONS, key_questions):
        groups.setdefault(rating or overall, []).append(label.lower())
    if len(groups) == 1:
        ((rating, _),) = groups.items()
        return f"rated {overall.label} overall by CQC, and {rating.label} for all five key questions."
    parts = [f"{rating.label} for {_join(names)}" for rating, names in sorted(groups.items(), key=lambda item: -item[0].rank)]
    return f"rated {overall.label} overall by CQC, with {'; '.join(parts)}."


def _unrated_basis(cqc_regulated: bool, average: int, any_rated: bool) -> str:
    why = "not yet rated by CQC" if cqc_regulated else "not inspected by CQC (it does not regulate this work)"
    if not any_rated:
        return f"{why}. No provider on this lot has a CQC rating yet, so each is scored {average}/100."
    return (
        f"{why}, so it is scored at the average for the rated providers on this lot "
        f"({average}/100): no advantage and no penalty until it is rated."
    )


def _join(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def rank_lot(lot: LotInfo, members: Iterable[Member]) -> list[ServiceRank]:
    """Rank the member services of one lot, best first."""
    members = list(members)
    if not members:
        return []
    rated = {m.service_id: rated_quality(m) for m in members}
    rated_scores = [q for q in rated.values() if q is not None]
    average = average_quality(sum(rated_scores), len(rated_scores))
    cheapest: dict[PriceUnit, int] = {}
    for m in members:
        if m.price_unit not in cheapest or m.price_pence < cheapest[m.price_unit]:
            cheapest[m.price_unit] = m.price_pence

    scored = [(*member_score(lot, rated[m.service_id], m.price_pence, cheapest[m.price_unit], average), m) for m in members]

    scored.sort(key=lambda s: (-s[0], -s[1], s[3].price_pence, s[3].title.lower(), s[3].service_id))
    counts: dict[int, int] = {}
    for s in scored:
        counts[s[0]] = counts.get(s[0], 0) + 1
    ranks: list[ServiceRank] = []
    rank = 0
    previous = None
    for position, (score, quality, price, m) in enumerate(scored, start=1):
        if score != previous:
            rank, previous = position, score
        ranks.append(
            make_rank(
                lot,
                m,
                rank=rank,
                of=len(scored),
                score=score,
                quality=quality,
                price=price,
                joint=counts[score] > 1,
                cheapest_pence=cheapest[m.price_unit],
                average=average,
                any_rated=bool(rated_scores),
            )
        )
    return ranks


def make_rank(
    lot: LotInfo,
    m: Member,
    *,
    rank: int,
    of: int,
    score: int,
    quality: int,
    price: int,
    joint: bool,
    cheapest_pence: int,
    average: int,
    any_rated: bool,
) -> ServiceRank:
    return ServiceRank(
        service_id=m.service_id,
        lot_id=lot.id,
        lot_name=lot.name,
        rank=rank,
        of=of,
        score=score / 100,
        quality_score=quality,
        price_score=price,
        quality_weight=lot.quality_weight,
        price_weight=lot.price_weight,
        joint=joint,
        price_pence=m.price_pence,
        price_unit=m.price_unit,
        cheapest_pence=cheapest_pence,
        overall=m.overall,
        key_questions=tuple(m.key_questions),
        cqc_regulated=m.cqc_regulated,
        lot_average_quality=average,
        lot_has_rated_members=any_rated,
    )


# Reading from the database -----------------------------------------------------------------


def _lot_info(lot: FrameworkLot) -> LotInfo:
    return LotInfo(lot.id, lot.name, lot.quality_weight, lot.price_weight)


def _members_query(lot_ids: Sequence[int]):
    return (
        select(
            FrameworkMembership.lot_id,
            Service.id,
            Service.title,
            Service.price_pence,
            Service.price_unit,
            Provider.cqc_overall,
            Provider.cqc_safe,
            Provider.cqc_effective,
            Provider.cqc_caring,
            Provider.cqc_responsive,
            Provider.cqc_well_led,
            Provider.cqc_location_id,
        )
        .join(Provider, Provider.id == Service.provider_id)
        .join(FrameworkMembership, FrameworkMembership.provider_id == Provider.id)
        .join(FrameworkLot, FrameworkLot.id == FrameworkMembership.lot_id)
        .where(
            FrameworkMembership.lot_id.in_(lot_ids),
            FrameworkMembership.status == MembershipStatus.APPROVED,
            Service.category_id == FrameworkLot.category_id,
            Service.status == ServiceStatus.PUBLISHED,
            Provider.status == ProviderStatus.VERIFIED,
        )
    )


def rank_lots(lots: Sequence[FrameworkLot]) -> dict[int, list[ServiceRank]]:
    """{lot id: its members' ranks, best first}, worked out from the database."""
    if not lots:
        return {}
    members: dict[int, list[Member]] = {lot.id: [] for lot in lots}
    for row in db.session.execute(_members_query([lot.id for lot in lots])):
        members[row[0]].append(
            Member(
                service_id=row[1],
                title=row[2],
                price_pence=row[3],
                price_unit=row[4],
                overall=row[5],
                key_questions=tuple(row[6:11]),
                cqc_regulated=bool(row[11]),
            )
        )
    return {lot.id: rank_lot(_lot_info(lot), members[lot.id]) for lot in lots}


def lot_ranking(lot_id: int) -> list[ServiceRank]:
    """Every member service of the lot, best first (empty for an unknown lot)."""
    lot = db.session.get(FrameworkLot, lot_id)
    if lot is None:
        return []
    return rank_lots([lot])[lot.id]


def service_ranks(service_ids: Iterable[int]) -> dict[int, ServiceRank]:
    """The rank of each listed framework service among ``service_ids``; others are left out.

    A service whose provider is approved on more than one lot for its category is ranked
    on the first of them (the oldest lot)."""
    ids = list(dict.fromkeys(service_ids))
    if not ids:
        return {}
    rows = db.session.execute(
        select(Service.id, FrameworkLot.id)
        .join(Provider, Provider.id == Service.provider_id)
        .join(FrameworkMembership, FrameworkMembership.provider_id == Provider.id)
        .join(FrameworkLot, FrameworkLot.id == FrameworkMembership.lot_id)
        .where(
            Service.id.in_(ids),
            FrameworkMembership.status == MembershipStatus.APPROVED,
            FrameworkLot.category_id == Service.category_id,
            Service.status == ServiceStatus.PUBLISHED,
            Provider.status == ProviderStatus.VERIFIED,
        )
        .order_by(Service.id, FrameworkLot.id)
    ).all()
    first_lot: dict[int, int] = {}
    for service_id, lot_id in rows:
        first_lot.setdefault(service_id, lot_id)
    lots = db.session.execute(select(FrameworkLot).where(FrameworkLot.id.in_(set(first_lot.values())))).scalars().all()
    ranked = rank_lots(lots)
    result = {}
    for service_id, lot_id in first_lot.items():
        for rank in ranked.get(lot_id, []):
            if rank.service_id == service_id:
                result[service_id] = rank
                break
    return result


def service_rank(service_id: int) -> ServiceRank | None:
    """The service's rank on its framework lot, or None when it is not on the framework
    (or not listed publicly)."""
    return service_ranks([service_id]).get(service_id)
