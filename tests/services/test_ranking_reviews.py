"""Reviews in the framework ranking, checked against averages worked out by hand.

The lot below: four services, all rated Good by CQC (quality 80 from CQC), all at the same
price (price score 100), on a lot weighing quality 60 and price 40, with 20% of quality
from reviews and a minimum of 10 reviews:

    service  reviews          sum   own average
    A        3 x 5 stars       15   5.0
    B        50, average 4.8  240   4.8
    C        none               0   -
    D        40, average 3.5  140   3.5
    lot      93 reviews       395   4.247...

Bayesian average = (10 x 395/93 + sum) / (10 + count); review score = 20 x that:

    A  20 x (3950 + 15 x 93) / (93 x 13)  = 106900 / 1209 = 88.42 -> 88
    B  20 x (3950 + 240 x 93) / (93 x 60) = 525400 / 5580 = 94.16 -> 94
    C  20 x 3950 / (93 x 10)              =  79000 / 930  = 84.95 -> 85
    D  20 x (3950 + 140 x 93) / (93 x 50) = 339400 / 4650 = 72.99 -> 73

Quality = (80 x 80 + 20 x review score) / 100, halves up: A 81.6 -> 82, B 82.8 -> 83,
C 81, D 78.6 -> 79. So fifty 4.8s (B) beat three 5s (A).
"""

from __future__ import annotations

from app.models import CQCRating, PriceUnit
from app.services import ranking
from app.services.ranking import LotInfo, Member, rank_lot

G = CQCRating.GOOD


def member(service_id: int, count: int = 0, total: int = 0, *, overall=G, price: int = 2000) -> Member:
    return Member(
        service_id=service_id,
        title=f"Service {service_id}",
        price_pence=price,
        price_unit=PriceUnit.HOUR,
        overall=overall,
        key_questions=(overall,) * 5,
        review_count=count,
        review_sum=total,
    )


LOT = LotInfo(id=1, name="Home care", quality_weight=60, price_weight=40, review_weight=20, review_minimum=10)
MEMBERS = [member(1, 3, 15), member(2, 50, 240), member(3), member(4, 40, 140)]


def test_the_bayesian_average_by_hand():
    lot_reviews = (395, 93)
    assert ranking.review_points((15, 3), lot_reviews, 10) == 88
    assert ranking.review_points((240, 50), lot_reviews, 10) == 94
    assert ranking.review_points((0, 0), lot_reviews, 10) == 85
    assert ranking.review_points((140, 40), lot_reviews, 10) == 73
    # With no minimum, a service's own average is its score; with none of its own, the lot's.
    assert ranking.review_points((15, 3), lot_reviews, 0) == 100
    assert ranking.review_points((0, 0), lot_reviews, 0) == 85
    # No reviews anywhere on the lot: nothing to score.
    assert ranking.review_points((0, 0), (0, 0), 10) is None


def test_fifty_reviews_of_four_point_eight_beat_three_of_five():
    ranks = {r.service_id: r for r in rank_lot(LOT, MEMBERS)}
    assert {sid: r.quality_score for sid, r in ranks.items()} == {1: 82, 2: 83, 3: 81, 4: 79}
    assert [r.service_id for r in rank_lot(LOT, MEMBERS)] == [2, 1, 3, 4]
    # Score: 60% of quality and 40% of price (100 each): B = 0.6 x 83 + 40 = 89.8.
    assert ranks[2].score == 89.8 and ranks[1].score == 89.2
    assert ranks[2].review_quality == 94 and ranks[2].cqc_quality == 80


def test_the_reasons_say_how_much_comes_from_reviews():
    ranks = {r.service_id: r for r in rank_lot(LOT, MEMBERS)}
    b = ranks[2].reasons
    assert b[0] == "Quality 83/100: CQC Good (80%), people who used it 4.8/5 from 50 reviews (20%)."
    assert b[1] == "From CQC 80/100: rated Good overall by CQC, and Good for all five key questions."
    assert b[2].startswith("From people who used it 94/100: 50 reviews averaging 4.8/5, weighed with this lot's average of 4.2/5")
    assert "as if it were 10 reviews more" in b[2] and "about 4.70/5" in b[2]
    c = ranks[3].reasons
    assert c[0] == "Quality 81/100: CQC Good (80%), people who used it: no reviews yet (20%)."
    assert c[2] == "From people who used it 85/100: no published reviews yet, so it is scored at this lot's average of 4.2/5."
    assert ranks[1].as_dict()["reviews"] == {"count": 3, "average": 5.0, "counted_in_quality": True}
    assert ranks[1].review_average == "5.0"


def test_with_no_review_weight_quality_is_cqc_alone_and_reviews_are_not_mentioned():
    lot = LotInfo(id=1, name="Home care", quality_weight=60, price_weight=40)
    ranks = rank_lot(lot, MEMBERS)
    assert {r.quality_score for r in ranks} == {80}
    assert all(r.reasons[0] == "Quality 80/100: rated Good overall by CQC, and Good for all five key questions." for r in ranks)
    assert all(len(r.reasons) == 3 and "review" not in " ".join(r.reasons) for r in ranks)


def test_a_weight_without_any_reviews_on_the_lot_leaves_quality_to_cqc_and_says_so():
    ranks = rank_lot(LOT, [member(1), member(2, overall=CQCRating.OUTSTANDING)])
    assert [r.quality_score for r in ranks] == [100, 80]
    assert ranks[1].reasons[1] == (
        "The council counts reviews by people who used a service as 20% of quality on this lot, "
        "but no service on it has a published review yet, so quality is from CQC alone."
    )
    assert ranks[0].as_dict()["reviews"]["counted_in_quality"] is False


def test_an_unrated_provider_keeps_the_lots_average_cqc_part_beside_its_reviews():
    unrated = Member(
        service_id=9, title="New service", price_pence=2000, price_unit=PriceUnit.HOUR, overall=None, review_count=3, review_sum=15
    )
    ranks = {r.service_id: r for r in rank_lot(LOT, [member(2, 50, 240), unrated])}
    # CQC part: the rated members' average (80). Reviews: lot 255 from 53;
    # 20 x (10 x 255 + 15 x 53) / (53 x 13) = 66900 / 689 = 97.10 -> 97. Quality (6400 + 1940) / 100 = 83.4 -> 83.
    assert ranks[9].cqc_quality == 80 and ranks[9].review_quality == 97 and ranks[9].quality_score == 83
    assert ranks[9].reasons[0] == "Quality 83/100: CQC not yet rated (80%), people who used it 5.0/5 from 3 reviews (20%)."


def test_all_from_reviews_and_halves_round_up():
    all_reviews = LotInfo(id=1, name="Home care", quality_weight=100, price_weight=0, review_weight=100, review_minimum=0)
    # Own averages 4.5 and 3.5 with no minimum: 90 and 70, CQC ignored.
    ranks = rank_lot(all_reviews, [member(1, 2, 9, overall=CQCRating.INADEQUATE), member(2, 2, 7, overall=CQCRating.OUTSTANDING)])
    assert [(r.service_id, r.quality_score) for r in ranks] == [(1, 90), (2, 70)]
    # 50 x 81 + 50 x 90 = 8550 -> 85.5 -> 86 (halves up).
    half = LotInfo(id=1, name="Home care", quality_weight=100, price_weight=0, review_weight=50, review_minimum=0)
    assert ranking.blended_quality(half, 81, (9, 2), (9, 2)) == 86
