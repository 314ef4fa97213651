"""A member's place on its lot, with the reasons in plain words, and ranking a lot's members."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from app.formatting import format_pence, ordinal
from app.models import CQCRating, PriceUnit
from app.models.providers import KEY_QUESTIONS
from app.services.ranking.rule import (
    NO_RATED_MEMBERS_QUALITY,
    LotInfo,
    Member,
    average_quality,
    member_score,
    quality_from_ratings,
    rated_quality,
    review_points,
)


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
    review_weight: int = 0
    review_minimum: int = dataclasses.field(repr=False, default=0)
    review_count: int = dataclasses.field(repr=False, default=0)
    review_sum: int = dataclasses.field(repr=False, default=0)
    lot_review_count: int = dataclasses.field(repr=False, default=0)
    lot_review_sum: int = dataclasses.field(repr=False, default=0)

    @property
    def review_average(self) -> str | None:
        """Its published reviews' average, like "4.6"; None with none."""
        return format_average(self.review_sum, self.review_count) if self.review_count else None

    @property
    def reviews_count_here(self) -> bool:
        """Whether reviews make up part of this quality score (the lot weighs them and has some)."""
        return self.review_weight > 0 and self.lot_review_count > 0

    @property
    def cqc_quality(self) -> int:
        """The CQC part of the quality score, out of 100."""
        if self.overall is None:
            return self.lot_average_quality
        return quality_from_ratings(self.overall, self.key_questions)

    @property
    def review_quality(self) -> int | None:
        """The reviews part of the quality score, out of 100 (None: none on the lot)."""
        return review_points((self.review_sum, self.review_count), (self.lot_review_sum, self.lot_review_count), self.review_minimum)

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
        return [*self._quality_reasons(), price, weights]

    def _quality_reasons(self) -> list[str]:
        if not self.reviews_count_here:
            reasons = [f"Quality {self.quality_score}/100: {self.quality_basis}"]
            if self.review_weight:
                reasons.append(
                    f"The council counts reviews by people who used a service as {self.review_weight}% of quality on "
                    "this lot, but no service on it has a published review yet, so quality is from CQC alone."
                )
            return reasons
        cqc = f"CQC {self.overall.label}" if self.overall is not None else "CQC not yet rated"
        if self.review_count:
            people = f"people who used it {format_average(self.review_sum, self.review_count)}/5 from {_reviews(self.review_count)}"
        else:
            people = "people who used it: no reviews yet"
        lot_average = format_average(self.lot_review_sum, self.lot_review_count)
        if not self.review_count:
            detail = f"no published reviews yet, so it is scored at this lot's average of {lot_average}/5."
        elif self.review_minimum:
            weighed = Fraction(self.review_quality or 0, 20)
            detail = (
                f"{_reviews(self.review_count)} averaging {format_average(self.review_sum, self.review_count)}/5, weighed "
                f"with this lot's average of {lot_average}/5 as if it were {_reviews(self.review_minimum)} more, "
                f"so that a few reviews count for less than many: about {float(weighed):.2f}/5."
            )
        else:
            detail = f"{_reviews(self.review_count)} averaging {format_average(self.review_sum, self.review_count)}/5."
        return [
            f"Quality {self.quality_score}/100: {cqc} ({100 - self.review_weight}%), {people} ({self.review_weight}%).",
            f"From CQC {self.cqc_quality}/100: {self.quality_basis}",
            f"From people who used it {self.review_quality}/100: {detail}",
        ]

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
            "review_weight": self.review_weight,
            "reviews": {
                "count": self.review_count,
                "average": float(format_average(self.review_sum, self.review_count)) if self.review_count else None,
                "counted_in_quality": self.reviews_count_here,
            },
            "sentence": self.sentence,
            "reasons": self.reasons,
        }


def _reviews(count: int) -> str:
    return f"{count:,} review" + ("" if count == 1 else "s")


def format_average(total: int, count: int) -> str:
    """An average rating to one decimal place, halves up ("4.6")."""
    tenths = (20 * total + count) // (2 * count) if count else 0
    return f"{tenths // 10}.{tenths % 10}"


def format_score(score: float) -> str:
    return f"{score:.2f}".rstrip("0").rstrip(".") if score != int(score) else str(int(score))


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


def _own(m: Member) -> tuple[int, int]:
    return m.review_sum, m.review_count


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
    lot_reviews = (sum(m.review_sum for m in members), sum(m.review_count for m in members))  # (sum, count)

    scored = [
        (*member_score(lot, rated[m.service_id], m.price_pence, cheapest[m.price_unit], average, _own(m), lot_reviews), m) for m in members
    ]

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
                lot_reviews=lot_reviews,
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
    lot_reviews: tuple[int, int] = (0, 0),
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
        review_weight=lot.review_weight,
        review_minimum=lot.review_minimum,
        review_count=m.review_count,
        review_sum=m.review_sum,
        lot_review_sum=lot_reviews[0],
        lot_review_count=lot_reviews[1],
    )
