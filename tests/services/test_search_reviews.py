"""Search by what people who used a service said of it: a filter on the average shown, a sort
that a couple of 5-star reviews do not win, the framework ranking's review share, and an
index that follows each review as it is published."""

from __future__ import annotations

import datetime as dt

import pytest

from app.extensions import db
from app.models import CQCRating, Service
from app.services import ranking, reviews, search
from app.services.search import SearchParams, Sort
from tests.services.test_review_counting import GOOD, cares_of_one_service
from tests.services.test_search import find, index  # noqa: F401 - the index fixture


def given_reviews(service: Service, *ratings: int) -> Service:
    """A service's published reviews as search reads them: the totals the reviews service
    keeps as each is published (tests/services/test_review_counting.py checks those)."""
    service.review_count, service.review_sum = len(ratings), sum(ratings)
    db.session.commit()
    return service


@pytest.fixture
def market(make_service, make_provider):
    provider = make_provider(rating=CQCRating.GOOD)
    few_fives = given_reviews(make_service(provider=provider, title="Three fives"), 5, 5, 5)
    many = given_reviews(make_service(provider=provider, title="Fifty good"), *([5] * 40 + [4] * 10))  # 4.8
    middling = given_reviews(make_service(provider=provider, title="Middling"), 4, 3, 3, 4)  # 3.5
    poor = given_reviews(make_service(provider=provider, title="Poor"), 1, 2)  # 1.5
    none = make_service(provider=provider, title="No reviews")
    return {"few": few_fives, "many": many, "middling": middling, "poor": poor, "none": none}


def test_the_filter_uses_the_average_as_shown(index, market):  # noqa: F811
    assert {i.title for i in find(min_review_rating=4).items} == {"Three fives", "Fifty good"}
    assert {i.title for i in find(min_review_rating=3).items} == {"Three fives", "Fifty good", "Middling"}
    assert len(find(min_review_rating=1).items) == 4  # any reviews
    assert len(find().items) == 5
    # 3.95 shows as 4.0, so it is "4 stars or more".
    given_reviews(market["middling"], *([4] * 19 + [3]))
    assert "Middling" in {i.title for i in find(min_review_rating=4).items}


def test_facets_count_each_review_choice(index, market):  # noqa: F811
    counts = {v.value: v.count for v in find().facets.min_review_rating}
    assert counts == {"4": 2, "3": 3, "2": 3, "1": 4}
    assert [v.selected for v in find(min_review_rating=3).facets.min_review_rating] == [False, True, False, False]


def test_sorting_by_reviews_puts_many_good_reviews_above_a_few_perfect_ones(index, market):  # noqa: F811
    """Everything listed: 59 reviews adding up to 272 (4.61). Three 5s weighed with 5 of those:
    (5 x 272/59 + 15) / 8 = 4.76; fifty 4.8s: (5 x 272/59 + 240) / 55 = 4.78."""
    assert [i.title for i in find(sort=Sort.REVIEWS).items] == ["Fifty good", "Three fives", "Middling", "Poor", "No reviews"]
    item = find(sort=Sort.REVIEWS).items[0]
    assert (item.review_count, item.review_average) == (50, "4.8")
    assert find(q="no reviews", sort=Sort.REVIEWS).items[0].review_average is None


def test_reviews_enter_search_and_the_ranking_as_they_are_published(
    index,  # noqa: F811
    make_provider,
    make_provider_staff,
    make_service,
    make_citizen,
    make_budget,
    make_lot,
    make_membership,
    policy,
):
    lot = make_lot("home-care", 60, 40)
    lot.review_weight = 20
    db.session.commit()
    cares = cares_of_one_service(3, make_provider, make_provider_staff, make_service, make_citizen, make_budget, policy)
    make_membership(lot, cares[0].provider)
    rival = make_provider(name="Rival Care", rating=CQCRating.GOOD)
    make_membership(lot, rival)
    other = given_reviews(make_service(provider=rival, title="Rival visits", price_pence=cares[0].service.price_pence), 3, 3)
    written = max(c.visit.starts_at for c in cares) + dt.timedelta(days=1)
    for care, rating in zip(cares, (5, 5, 4), strict=True):
        reviews.write(bookings_of(care), by=care.citizen, rating=rating, answers=GOOD, now=written)
    service_id = cares[0].service.id
    item = next(i for i in find(q="home care visits").items if i.service_id == service_id)
    assert item.review_count == 0  # written, not yet published
    reviews.publish_due(now=written + dt.timedelta(days=7))
    item = next(i for i in find(q="home care visits").items if i.service_id == service_id)
    assert (item.review_count, item.review_average) == (3, "4.7")
    # The index ranks exactly as the ranking service does from the database.
    for sid in (service_id, other.id):
        from_index = next(i for i in find(framework_only=True).items if i.service_id == sid).rank
        assert from_index == ranking.service_rank(sid)
    rank = ranking.service_rank(service_id)
    # Lot: 14 + 6 = 20 from 5 reviews (4.0). Ours: 20 x (10 x 20 + 14 x 5) / (5 x 13) = 5400/65 = 83.08 -> 83;
    # quality (80 x 80 + 20 x 83) / 100 = 80.6 -> 81.
    assert (rank.review_quality, rank.quality_score) == (83, 81)
    assert rank.reasons[0] == "Quality 81/100: CQC Good (80%), people who used it 4.7/5 from 3 reviews (20%)."
    assert search.listed_service_rank(service_id) == rank


def bookings_of(care):
    from app.services import bookings

    return bookings.get_booking(care.booking.public_id)


def test_a_bad_review_choice_is_explained():
    with pytest.raises(Exception) as refused:
        search.params_from_args({"min_review_rating": "5"})
    assert refused.value.errors == {"min_review_rating": "Choose a review score from the list"}
    assert search.params_from_args({"min_review_rating": " 4 "}) == SearchParams(min_review_rating=4)
    assert SearchParams(min_review_rating=4, sort=Sort.REVIEWS).as_args() == {"min_review_rating": "4", "sort": "reviews"}
