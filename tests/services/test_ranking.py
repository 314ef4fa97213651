"""Framework ranking on quality and price, as a commissioner would check it by hand."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import CQCRating, MembershipStatus, PriceUnit, ProviderStatus, ServiceStatus
from app.services import ranking
from app.services.ranking import LotInfo, Member, rank_lot

# The ratings' initials, as the tables below use them.
O, G, RI, I = CQCRating.OUTSTANDING, CQCRating.GOOD, CQCRating.REQUIRES_IMPROVEMENT, CQCRating.INADEQUATE  # noqa: E741


def member(service_id, price, overall=G, keys=None, unit=PriceUnit.HOUR, regulated=True, title=None):
    return Member(
        service_id=service_id,
        title=title or f"Service {service_id}",
        price_pence=price,
        price_unit=unit,
        overall=overall,
        key_questions=tuple(keys) if keys else (overall,) * 5,
        cqc_regulated=regulated,
    )


LOT = LotInfo(id=1, name="Home care", quality_weight=60, price_weight=40)


def test_score_is_weighted_quality_plus_price_relative_to_the_cheapest():
    ranks = rank_lot(LOT, [member(1, 2500, G), member(2, 2000, O), member(3, 2000, RI)])
    by_id = {r.service_id: r for r in ranks}
    assert [r.service_id for r in ranks] == [2, 1, 3]
    assert (by_id[2].quality_score, by_id[2].price_score, by_id[2].score) == (100, 100, 100)
    # Good = 80 quality; 2000/2500 of the price = 80.
    assert (by_id[1].quality_score, by_id[1].price_score, by_id[1].score) == (80, 80, 80)
    # Requires improvement = 40 quality, cheapest price: 0.6 * 40 + 0.4 * 100 = 64.
    assert (by_id[3].quality_score, by_id[3].price_score, by_id[3].score) == (40, 100, 64)
    assert by_id[1].sentence == "Ranked 2nd of 3 on the Home care framework: quality 80/100, price 80/100"
    assert [r.rank for r in ranks] == [1, 2, 3] and all(r.of == 3 for r in ranks)


def test_quality_is_half_overall_half_key_questions():
    ranks = rank_lot(LOT, [member(1, 2000, G, keys=[G, O, O, G, G])])
    # overall 80 / 2 + mean(80, 100, 100, 80, 80) = 88 / 2 -> 40 + 44 = 84
    assert ranks[0].quality_score == 84
    assert ranks[0].reasons[0] == (
        "Quality 84/100: rated Good overall by CQC, with Outstanding for effective and caring; Good for safe, responsive and well-led."
    )


def test_weights_are_per_lot():
    respite = LotInfo(id=2, name="Short breaks", quality_weight=70, price_weight=30)
    ranks = rank_lot(respite, [member(1, 2000, RI), member(2, 4000, O)])
    # 70/30: the Outstanding one wins despite twice the price (70 + 15 = 85 against 28 + 30 = 58).
    assert [r.service_id for r in ranks] == [2, 1]
    assert ranks[0].score == 85 and ranks[1].score == 58
    price_led = LotInfo(id=3, name="Short breaks", quality_weight=20, price_weight=80)
    assert [r.service_id for r in rank_lot(price_led, [member(1, 2000, RI), member(2, 4000, O)])] == [1, 2]


def test_prices_compare_only_with_the_same_unit():
    ranks = {r.service_id: r for r in rank_lot(LOT, [member(1, 2000), member(2, 2500), member(3, 95000, unit=PriceUnit.WEEK)])}
    assert ranks[3].price_score == 100  # the only weekly price is the cheapest weekly price
    assert ranks[2].price_score == 80
    assert "against the lowest on this framework lot of £20 an hour" in ranks[2].reasons[1]
    assert ranks[3].reasons[1] == "Price 100/100: £950 a week is the lowest price a week on this framework lot."


def test_unrated_providers_get_the_average_of_rated_members_and_are_told_why():
    ranks = {
        r.service_id: r
        for r in rank_lot(
            LOT,
            [
                member(1, 2000, O),  # 100
                member(2, 2000, RI),  # 40
                member(3, 2000, None),  # registered, not yet inspected
                member(4, 2000, None, regulated=False),
            ],
        )
    }
    assert ranks[3].quality_score == 70 == ranks[4].quality_score  # (100 + 40) / 2
    assert "not yet rated by CQC, so it is scored at the average for the rated providers on this lot (70/100)" in ranks[3].reasons[0]
    assert "not inspected by CQC" in ranks[4].reasons[0]
    # Unrated sits between the two rated ones: neither punished nor rewarded.
    assert ranks[1].rank < ranks[3].rank < ranks[2].rank


def test_a_lot_with_no_rated_members_scores_quality_at_50():
    ranks = rank_lot(LOT, [member(1, 2000, None), member(2, 2500, None)])
    assert {r.quality_score for r in ranks} == {50}
    assert [r.service_id for r in ranks] == [1, 2]
    assert "No provider on this lot has a CQC rating yet" in ranks[0].reasons[0]


def test_equal_scores_share_a_joint_rank():
    ranks = rank_lot(LOT, [member(1, 2000, G), member(2, 2000, G), member(3, 2500, G)])
    assert [(r.rank, r.joint) for r in ranks] == [(1, True), (1, True), (3, False)]
    assert ranks[0].sentence.startswith("Ranked joint 1st of 3")


def test_reasons_explain_the_weights():
    r = rank_lot(LOT, [member(1, 2000, G), member(2, 2100, O)])[0]  # 0.6 * 100 + 0.4 * 95
    assert r.reasons[2] == "Score 98 out of 100: the council counts quality as 60% and price as 40% on the Home care lot."
    assert r.as_dict()["sentence"] == r.sentence
    assert r.reasons[0] == "Quality 100/100: rated Outstanding overall by CQC, and Outstanding for all five key questions."


# From the database -------------------------------------------------------------------------


@pytest.fixture
def home_care_lot(make_lot):
    return make_lot("home-care", 60, 40, name="Home care")


def test_lot_ranking_counts_only_listed_services_of_approved_members(home_care_lot, make_provider, make_service, make_membership):
    good = make_provider(rating=G)
    outstanding = make_provider(rating=O)
    suspended = make_provider(rating=O)
    pending = make_provider(rating=O, status=ProviderStatus.PENDING)
    outsider = make_provider(rating=O)
    for p in (good, outstanding, pending):
        make_membership(home_care_lot, p)
    make_membership(home_care_lot, suspended, status=MembershipStatus.SUSPENDED)

    a = make_service(provider=good, price_pence=2000)
    b = make_service(provider=outstanding, price_pence=2500)
    make_service(provider=outstanding, price_pence=1000, status=ServiceStatus.DRAFT)
    make_service(provider=outstanding, price_pence=1000, status=ServiceStatus.WITHDRAWN)
    make_service(provider=outstanding, category="meals", price_pence=500, price_unit=PriceUnit.ITEM)
    make_service(provider=suspended, price_pence=1500)
    make_service(provider=pending, price_pence=1500)
    not_member = make_service(provider=outsider, price_pence=1500)

    ranks = ranking.lot_ranking(home_care_lot.id)
    assert [r.service_id for r in ranks] == [b.id, a.id]  # 0.6*100+0.4*80 = 92 beats 0.6*80+0.4*100 = 88
    assert ranks[0].sentence == "Ranked 1st of 2 on the Home care framework: quality 100/100, price 80/100"
    assert ranking.service_rank(not_member.id) is None
    assert ranking.service_rank(a.id).rank == 2
    assert ranking.lot_ranking(999_999) == []


def test_rank_follows_price_and_membership_changes_on_the_next_call(home_care_lot, make_provider, make_service, make_membership):
    first = make_provider(rating=G)
    second = make_provider(rating=G)
    make_membership(home_care_lot, first)
    make_membership(home_care_lot, second)
    cheap = make_service(provider=first, price_pence=2000)
    dear = make_service(provider=second, price_pence=2400)
    assert ranking.service_rank(dear.id).rank == 2

    dear.price_pence = 1800
    db.session.commit()
    assert ranking.service_rank(dear.id).rank == 1
    assert ranking.service_rank(dear.id).price_score == 100
    assert ranking.service_rank(cheap.id).price_score == 90

    newcomer = make_provider(rating=O)
    newcomer_service = make_service(provider=newcomer, price_pence=1800)
    assert ranking.service_rank(newcomer_service.id) is None
    membership = make_membership(home_care_lot, newcomer)
    assert ranking.service_rank(newcomer_service.id).rank == 1
    assert ranking.service_rank(cheap.id).of == 3

    membership.status = MembershipStatus.SUSPENDED
    db.session.commit()
    assert ranking.service_rank(newcomer_service.id) is None
    assert ranking.service_rank(cheap.id).of == 2


def test_service_ranks_in_bulk(home_care_lot, make_lot, make_provider, make_service, make_membership):
    day_lot = make_lot("day-opportunities", 70, 30, name="Day opportunities")
    p = make_provider()
    make_membership(home_care_lot, p)
    make_membership(day_lot, p)
    home = make_service(provider=p)
    day = make_service(provider=p, category="day-opportunities", price_unit=PriceUnit.DAY, price_pence=6000)
    meals = make_service(provider=p, category="meals", price_unit=PriceUnit.ITEM, price_pence=500)
    ranks = ranking.service_ranks([home.id, day.id, meals.id])
    assert set(ranks) == {home.id, day.id}
    assert ranks[day.id].lot_name == "Day opportunities" and ranks[day.id].quality_weight == 70
