"""Search as the people using it would check it: words, filters, order, and an index that
follows every change to the data."""

from __future__ import annotations

import datetime as dt
import types

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import (
    CQCRating,
    FrameworkLot,
    FundingRoute,
    MembershipStatus,
    PriceUnit,
    ProviderArea,
    ProviderStatus,
    SearchOutboxEntry,
    Service,
    ServiceHours,
    ServiceStatus,
)
from app.services import ranking, search
from app.services.errors import ValidationError
from app.services.search import SearchParams, Sort, documents, ordering, segment, writer


@pytest.fixture
def index(app):
    """An empty index: from now on every commit is drained into it."""
    search.rebuild()
    return app.config["SEARCH_INDEX_DIR"]


def unread(index_dir: str) -> int:
    """Changes this index has not read yet (the log keeps what other readers may need)."""
    return search.index_status(index_dir)["pending_changes"]


def newest_logged() -> int:
    """The id of the newest change in the log (0 when empty): unchanged means nothing was logged."""
    return db.session.execute(select(func.coalesce(func.max(SearchOutboxEntry.id), 0))).scalar_one()


def find(**kwargs) -> search.SearchResults:
    return search.search(SearchParams(**kwargs))


def titles(**kwargs) -> list[str]:
    return [item.title for item in find(**kwargs).items]


def ids(**kwargs) -> set[int]:
    return {item.service_id for item in find(**kwargs).items}


# Words -------------------------------------------------------------------------------------


def test_stems_plurals_and_carer_find_care(index, make_service):
    care = make_service(title="Help at home", description="Care for older people, every day.", category="befriending")
    make_service(title="Gardening", description="Lawns and hedges.", category="cleaning")
    for words in ("care", "carer", "carers", "caring", "cared"):
        assert titles(q=words) == ["Help at home"], words
    assert titles(q="gardens") == ["Gardening"]
    assert find(q="older").items[0].service_id == care.id


def test_listings_that_say_carers_come_before_ones_that_only_say_care(index, make_service, make_provider):
    provider = make_provider(rating=CQCRating.OUTSTANDING)
    make_service(provider=provider, title="Care at home", description="Help at home.")
    make_service(title="Carers' support group", description="Meet other people.", category="carers-support")
    assert titles(q="carers") == ["Carers' support group", "Care at home"]


@pytest.mark.parametrize(
    "words, title",
    [
        ("PA", "Personal assistant support"),
        ("personal assistant", "PA for days out"),
        ("respite", "Short breaks for families"),
        ("short breaks", "Respite at the seaside"),
        ("sitting service", "A sitter for the afternoon"),
        ("domiciliary", "Home care visits"),
        ("home care", "Domiciliary support"),
    ],
)
def test_synonyms_of_the_field(index, make_service, words, title):
    make_service(title=title, description="Friendly and local.", category="befriending")
    make_service(title="Unrelated gardening", description="Lawns.", category="cleaning")
    assert titles(q=words) == [title]


def test_did_you_mean_for_a_misspelling(index, make_service):
    make_service(title="Dementia day club", description="Activities and lunch.")
    results = find(q="demenita")
    # Nothing for the words as typed: the results for the spelling the listings use, saying so.
    assert results.total == 1 and results.corrected_to == "dementia" and results.did_you_mean is None
    assert results.params.q == "demenita"
    assert find(q="demenita club").did_you_mean == "dementia club"
    assert find(q="dementia").did_you_mean is None
    assert find(q="zzqqxx").did_you_mean is None  # nothing close: no suggestion


@pytest.mark.parametrize(
    "typed",
    [
        "home AND care",
        "home OR meals",
        "care NOT meals",
        "(home OR day) AND care",
        '"day club"',
        "car*",
        "*",
        "?",
        "demntia~",
        "demntia~2",
        "care^3",
        "title:care",
        ":",
        "::::",
        "~^*",
        "((((((((((care",
        "NOT NOT NOT NOT NOT NOT NOT NOT care",
        "AND OR NOT",
        '"unbalanced',
        "care)",
        "é café naïve",
        "日本語 テスト",
        "😀 care",
        "\u202e\u200b",
        "a" * 200,
        "care " * 40,
        "[a TO z]",
        "{}",
        "\\",
        "'",
        "%",
        "care -meals",
    ],
)
def test_any_query_text_gives_results_or_none_never_an_error(index, make_service, typed):
    make_service(title="Dementia day club", description="Care and lunch.")
    results = find(q=typed[:200])
    assert results.total >= 0 and len(results.items) <= 20


def test_whoosh_operators_work(index, make_service):
    make_service(title="Home care visits", description="Help at home.")
    make_service(title="Hot meals delivered", description="Lunch at home.", category="meals")
    assert titles(q="home NOT meals") == ["Home care visits"]
    assert sorted(titles(q="visits OR meals")) == ["Home care visits", "Hot meals delivered"]
    assert titles(q='"meals delivered"') == ["Hot meals delivered"]
    assert titles(q="deliv*") == ["Hot meals delivered"]


# Filters, facets and places ----------------------------------------------------------------


@pytest.fixture
def places(make_district):
    make_district("PE1", 52.5880, -0.2290, "Peterborough")
    make_district("PE2", 52.5560, -0.2590, "Peterborough")  # ~2.5 miles from PE1
    make_district("PE9", 52.6600, -0.4800, "Stamford")  # ~12 miles from PE1
    make_district("PE29", 52.3300, -0.1800, "Huntingdon")  # ~18 miles from PE1
    make_district("NN1", 52.2400, -0.8900, "Northampton")  # ~43 miles from PE1


def test_near_a_postcode_matches_base_within_distance_listed_areas_and_own_radius(index, places, make_provider, make_service):
    local = make_service(title="Local", provider=make_provider(base_district="PE2", areas=["PE2"]))
    far_but_lists_pe1 = make_service(title="Lists PE1", provider=make_provider(base_district="PE29", areas=["PE29", "PE1"]))
    far_with_radius = make_service(title="Own radius", provider=make_provider(base_district="PE9", areas=[], service_radius_miles=15))
    too_far = make_service(title="Too far", provider=make_provider(base_district="NN1", areas=["NN1"]))

    found = find(postcode="PE1 1XX", radius_miles=5)
    assert {i.service_id for i in found.items} == {local.id, far_but_lists_pe1.id, far_with_radius.id}
    by_id = {i.service_id: i for i in found.items}
    assert by_id[local.id].distance_miles == pytest.approx(2.5, abs=0.3) and not by_id[local.id].covers_your_area
    assert by_id[far_but_lists_pe1.id].covers_your_area
    assert found.location.district == "PE1" and found.location.town == "Peterborough"
    assert too_far.id in ids(postcode="PE1 1XX", radius_miles=50)
    assert too_far.id not in ids(postcode="PE1 1XX", radius_miles=30)
    assert next(i.title for i in find(postcode="PE1 1XX", radius_miles=50, sort=Sort.DISTANCE).items) == "Local"


def test_unknown_postcode_district_and_unknown_category_are_refused(index, places):
    with pytest.raises(ValidationError) as error:
        find(postcode="ZZ9 9ZZ")
    assert error.value.errors == {"postcode": "We could not find that postcode"}
    with pytest.raises(ValidationError) as error:
        find(category="not-a-category")
    assert error.value.errors == {"category": "Choose a type of support from the list"}


def test_each_filter_and_their_combination(index, make_provider, make_service, make_lot, make_membership):
    outstanding = make_provider(rating=CQCRating.OUTSTANDING)
    good = make_provider(rating=CQCRating.GOOD)
    unrated = make_provider(rating=None, cqc_location_id=None)
    lot = make_lot("home-care")
    make_membership(lot, good)
    weekdays = [(d, "09:00", "17:00") for d in range(5)]
    a = make_service(title="A", provider=outstanding, price_pence=2000, hours=weekdays, accepts_self_funder=False)
    b = make_service(title="B", provider=good, price_pence=2600)
    c = make_service(title="C", provider=unrated, price_pence=1500, category="meals", price_unit=PriceUnit.ITEM, accepts_prepaid_card=False)

    assert ids(category="meals") == {c.id}
    assert ids(max_price_pence=2000) == {a.id, c.id}
    assert ids(max_price_pence=1499) == set()
    assert ids(min_cqc_rating=CQCRating.GOOD) == {a.id, b.id}  # unrated left out
    assert ids(min_cqc_rating=CQCRating.OUTSTANDING) == {a.id}
    assert ids(funding=FundingRoute.SELF_FUNDER) == {b.id, c.id}
    assert ids(funding=FundingRoute.PREPAID_CARD) == {a.id, b.id}
    assert ids(days=(5,)) == {b.id, c.id}  # Saturday
    assert ids(days=(0, 6)) == {b.id, c.id}  # Monday and Sunday: both needed
    assert ids(framework_only=True) == {b.id}
    assert ids(max_price_pence=2600, min_cqc_rating=CQCRating.GOOD, funding=FundingRoute.PREPAID_CARD, days=(2,)) == {a.id, b.id}
    assert ids(max_price_pence=2600, min_cqc_rating=CQCRating.GOOD, days=(5,), framework_only=True) == {b.id}


def test_facet_counts_say_what_each_choice_would_give(index, make_provider, make_service):
    make_service(title="A", price_pence=2000, provider=make_provider(rating=CQCRating.OUTSTANDING))
    make_service(title="B", price_pence=2600)
    make_service(title="C", category="meals", price_unit=PriceUnit.ITEM, price_pence=500, accepts_prepaid_card=False)

    facets = find(category="home-care").facets
    counts = {f.value: f.count for f in facets.category}
    # The category facet ignores the category chosen, so switching is informed.
    assert counts["home-care"] == 2 and counts["meals"] == 1 and counts["transport"] == 0
    assert [f.selected for f in facets.category if f.value == "home-care"] == [True]
    funding = {f.value: f.count for f in facets.funding}
    assert funding == {"personal_budget": 2, "prepaid_card": 2, "self_funder": 2}
    ratings = {f.value: f.count for f in facets.min_cqc_rating}
    assert ratings["outstanding"] == 1 and ratings["good"] == 2
    assert facets.framework_only.count == 0
    facets = find(funding=FundingRoute.PREPAID_CARD).facets
    assert {f.value: f.count for f in facets.category}["meals"] == 0
    assert {f.value: f.count for f in facets.funding}["self_funder"] == 3  # funding ignores its own choice


# Order and pages ---------------------------------------------------------------------------


def test_twenty_a_page_with_totals(index, make_provider, make_service):
    provider = make_provider()
    for n in range(45):
        make_service(provider=provider, title=f"Visit {n:02d}", price_pence=1000 + n)
    first = find(sort=Sort.PRICE)
    assert first.total == 45 and first.page.pages == 3 and len(first.items) == 20
    assert first.items[0].title == "Visit 00"
    third = find(sort=Sort.PRICE, page=3)
    assert [i.title for i in third.items] == [f"Visit {n:02d}" for n in range(40, 45)]
    assert find(sort=Sort.PRICE, page=4).items == []
    seen = [i.service_id for p in (1, 2, 3) for i in find(page=p).items]
    assert len(seen) == len(set(seen)) == 45  # every result once, across pages


def test_sort_by_price_distance_and_rating(index, places, make_provider, make_service):
    near = make_provider(base_district="PE1", areas=["PE1"], rating=CQCRating.REQUIRES_IMPROVEMENT)
    mid = make_provider(base_district="PE2", areas=["PE2"], rating=None, cqc_location_id=None)
    far = make_provider(base_district="PE9", areas=["PE9"], rating=CQCRating.OUTSTANDING)
    make_service(title="Near", provider=near, price_pence=3000)
    make_service(title="Mid", provider=mid, price_pence=1000)
    make_service(title="Far", provider=far, price_pence=2000)
    assert titles(sort=Sort.PRICE) == ["Mid", "Far", "Near"]
    assert titles(sort=Sort.RATING) == ["Far", "Near", "Mid"]  # not rated last
    assert titles(postcode="PE1 1AA", radius_miles=20, sort=Sort.DISTANCE) == ["Near", "Mid", "Far"]


def test_best_match_puts_framework_providers_first_among_comparable_matches(index, make_provider, make_service, make_lot, make_membership):
    lot = make_lot("home-care")
    on_framework = make_provider(rating=CQCRating.GOOD)
    make_membership(lot, on_framework)
    outsider = make_provider(rating=CQCRating.OUTSTANDING)
    make_service(title="Home care visits", provider=outsider, description="Help at home.")
    make_service(title="Home care visits", provider=on_framework, description="Help at home.")
    weak = make_service(title="Gardening", provider=on_framework, description="We also do home visits for care.", category="cleaning")

    results = find(q="home care")
    assert [(i.provider_id, i.title) for i in results.items] == [
        (on_framework.id, "Home care visits"),  # as relevant, and on the framework
        (outsider.id, "Home care visits"),  # non-framework services still appear
        (on_framework.id, "Gardening"),  # framework, but a much weaker match
    ]
    assert results.items[0].rank.sentence == "Ranked 1st of 1 on the Home care framework: quality 80/100, price 100/100"
    assert results.items[2].rank is None and weak.id == results.items[2].service_id


def test_without_words_the_framework_order_leads(index, make_provider, make_service, make_lot, make_membership):
    lot = make_lot("home-care")
    cheap, dear = make_provider(), make_provider()
    for p in (cheap, dear):
        make_membership(lot, p)
    make_service(title="Dear", provider=dear, price_pence=3000)
    make_service(title="Cheap", provider=cheap, price_pence=2000)
    make_service(title="Not on it", provider=make_provider(rating=CQCRating.OUTSTANDING), price_pence=1000)
    assert titles() == ["Cheap", "Dear", "Not on it"]


# The index follows the data ----------------------------------------------------------------


def test_creating_editing_and_withdrawing_show_at_once(index, make_service):
    service = make_service(title="Riverside day centre", description="Lunch and company.")
    assert titles(q="riverside") == ["Riverside day centre"]
    service.title = "Meadow day centre"
    db.session.commit()
    assert titles(q="riverside") == []
    assert titles(q="meadow") == ["Meadow day centre"]
    service.price_pence = 999
    db.session.commit()
    assert find(q="meadow").items[0].price_pence == 999
    service.status = ServiceStatus.WITHDRAWN
    db.session.commit()
    assert titles(q="meadow") == []
    service.status = ServiceStatus.PUBLISHED
    db.session.commit()
    assert titles(q="meadow") == ["Meadow day centre"]
    db.session.delete(service)
    db.session.commit()
    assert titles(q="meadow") == []
    assert unread(index) == 0  # nothing left unread


def test_provider_changes_reach_every_service_of_the_provider(index, places, make_provider, make_service):
    provider = make_provider(name="Nene Carers", base_district="PE9", areas=["PE9"], rating=CQCRating.GOOD)
    make_service(provider=provider, title="Visits")
    make_service(provider=provider, title="Sitting", category="short-breaks")
    assert len(find(q="nene").items) == 2
    provider.name = "Ouse Carers"
    db.session.commit()
    assert find(q="nene").total == 0 and find(q="ouse").total == 2
    provider.cqc_overall = CQCRating.OUTSTANDING
    db.session.commit()
    assert find(min_cqc_rating=CQCRating.OUTSTANDING).total == 2
    assert find(postcode="PE1 1XX", radius_miles=5).total == 0
    provider.areas.append(ProviderArea(outward_code="PE1"))
    db.session.commit()
    assert find(postcode="PE1 1XX", radius_miles=5).total == 2
    provider.status = ProviderStatus.SUSPENDED
    db.session.commit()
    assert find().total == 0


def test_hours_and_membership_changes_show(index, make_provider, make_service, make_lot, make_membership):
    provider = make_provider()
    service = make_service(provider=provider, hours=[(0, "09:00", "17:00")])
    assert ids(days=(6,)) == set()
    service.hours.append(ServiceHours(weekday=6, opens_at=dt.time(10), closes_at=dt.time(16)))
    db.session.commit()
    assert ids(days=(6,)) == {service.id}
    lot = make_lot("home-care")
    membership = make_membership(lot, provider)
    assert ids(framework_only=True) == {service.id}
    membership.status = MembershipStatus.SUSPENDED
    db.session.commit()
    assert ids(framework_only=True) == set()


def test_card_rank_follows_price_changes_like_the_ranking_service(index, make_provider, make_service, make_lot, make_membership):
    lot = make_lot("home-care", 60, 40)
    first, second = make_provider(), make_provider()
    make_membership(lot, first)
    make_membership(lot, second)
    cheap = make_service(provider=first, price_pence=2000, title="One")
    dear = make_service(provider=second, price_pence=2500, title="Two")
    assert {i.service_id: i.rank.rank for i in find().items} == {cheap.id: 1, dear.id: 2}
    dear.price_pence = 1500
    db.session.commit()
    cards = {i.service_id: i.rank for i in find().items}
    assert cards[dear.id].rank == 1 and cards[cheap.id].price_score == 75
    assert cards[dear.id] == ranking.service_rank(dear.id)
    lot.quality_weight, lot.price_weight = 100, 0
    db.session.commit()
    assert find().items[0].rank.quality_weight == 100


def test_search_ranks_by_the_ranking_service_rule_itself(index, make_provider, make_service, make_lot, make_membership, monkeypatch):
    """The rule is written once (ranking.member_score): search keeps and counts its scores
    and has no formula of its own, so a change to the rule shows in search unchanged."""
    from app.services.ranking import rule

    real = rule.price_score
    monkeypatch.setattr(rule, "price_score", lambda price, cheapest: 100 - real(price, cheapest))  # the dearest first
    lot = make_lot("home-care", 60, 40)
    first, second = make_provider(), make_provider()
    make_membership(lot, first)
    make_membership(lot, second)
    cheap = make_service(provider=first, price_pence=2000, title="One")
    dear = make_service(provider=second, price_pence=2500, title="Two")
    results = find()
    assert [i.service_id for i in results.items] == [dear.id, cheap.id]
    assert {i.service_id: i.rank for i in results.items} == {s.id: ranking.service_rank(s.id) for s in (cheap, dear)}
    assert results.items[0].rank.rank == 1


def test_bulk_updates_are_followed_too(index, make_service):
    a = make_service(title="Alpha visits")
    make_service(title="Beta visits")
    db.session.execute(update(Service).where(Service.id == a.id).values(title="Gamma visits"))
    db.session.commit()
    assert titles(q="gamma") == ["Gamma visits"]
    db.session.execute(update(Service).values(status=ServiceStatus.WITHDRAWN))
    db.session.commit()
    assert find().total == 0


def test_a_change_made_while_another_process_drains_is_taken_in_by_it(index, make_service):
    """The drain lock is held elsewhere: the writer's own drain gives way, the row stays
    queued, and the holder takes it in after it lets go (here: the next drain)."""
    with search.index_lock(index) as held:
        assert held
        service = make_service(title="Queued while busy")
        assert search.drain(index).state == "busy"
        assert db.session.execute(select(SearchOutboxEntry)).first() is not None
    assert search.drain(index).state == "done"
    assert titles(q="queued") == ["Queued while busy"] and service.id


def test_searching_takes_in_changes_a_dead_writer_left_queued(index, make_service, app):
    service = make_service(title="Orphan")
    # A writer that died between its commit and its drain: the row is all that is left.
    db.session.add(SearchOutboxEntry(entity="service", entity_id=service.id))
    db.session.execute(update(Service).where(Service.id == service.id).execution_options(synchronize_session=False).values(title="Adopted"))
    db.session.commit()
    assert titles(q="adopted") == ["Adopted"]


def test_rebuild_is_repeatable_and_takes_in_everything(app, make_service):
    for n in range(3):
        make_service(title=f"Service {n}")
    with pytest.raises(search.SearchUnavailable):
        find()
    assert search.index_status(app.config["SEARCH_INDEX_DIR"])["state"] == "missing"
    first = search.rebuild()
    second = search.rebuild()
    assert first.documents == second.documents == 3
    assert find().total == 3
    status = search.index_status(app.config["SEARCH_INDEX_DIR"])
    assert status["state"] == "ready" and status["ok"] and status["documents"] == 3 == status["listed_services"]


def test_health_says_when_the_index_is_behind_or_out_of_step(index, make_service, app):
    make_service(title="One")
    status = search.index_status(index)
    assert status["state"] == "ready"
    with search.index_lock(index):
        make_service(title="Two")  # cannot be drained: the lock is held
        behind = search.index_status(index)
    assert behind["state"] == "behind" and behind["pending_changes"] >= 1 and behind["ok"]
    db.session.rollback()  # end the read, as a request would, before another connection writes
    search.drain(index)
    # A database restored under the index: the counts disagree and nothing is queued.
    db.session.execute(update(Service).execution_options(synchronize_session=False).values(status=ServiceStatus.DRAFT))
    db.session.execute(SearchOutboxEntry.__table__.delete())
    db.session.commit()
    stale = search.index_status(index)
    assert stale["state"] == "out_of_step" and not stale["ok"] and "rebuild" in stale["detail"]


def test_search_snapshot_ranks_match_the_ranking_service_on_the_demo_market(app):
    from app.services import demo

    demo.load(demo_mode=True, history=False)
    search.rebuild()
    lots = db.session.execute(select(FrameworkLot)).scalars().all()
    expected = {r.service_id: r for lot in lots for r in ranking.lot_ranking(lot.id)}
    seen = {}
    page = 1
    while True:
        results = find(page=page)
        seen.update({i.service_id: i.rank for i in results.items if i.rank})
        if page >= results.page.pages:
            break
        page += 1
    assert seen == expected and len(seen) > 20


def test_an_empty_marketplace_searches_to_no_results_not_an_error(index):
    results = find(q="care")
    assert results.total == 0 and results.items == [] and results.did_you_mean is None
    assert find().total == 0


# Refreshing after a change is cheap, and ranks stay right ----------------------------------


def test_a_change_of_lot_weights_rewrites_nothing_in_the_index(index, make_provider, make_service, make_lot, make_membership):
    """A lot's weights are read at search time: changing them queues no documents (at a
    region's size, rewriting the lot's category took many seconds in the commissioner's
    request) and shows on the next search."""
    lot = make_lot("home-care", 60, 40)
    good, outstanding = make_provider(rating=CQCRating.GOOD), make_provider(rating=CQCRating.OUTSTANDING)
    make_membership(lot, good)
    make_membership(lot, outstanding)
    cheap = make_service(provider=good, price_pence=1500, title="Cheap")
    dear = make_service(provider=outstanding, price_pence=3000, title="Dear")
    assert titles() == ["Cheap", "Dear"]  # 60% quality: 80 + price 100 beats 100 + 50
    logged = newest_logged()
    lot.quality_weight, lot.price_weight, lot.name = 100, 0, "Home support"
    db.session.flush()
    assert newest_logged() == logged
    db.session.commit()
    assert titles() == ["Dear", "Cheap"]
    cards = {i.service_id: i.rank for i in find().items}
    assert cards[dear.id].sentence == "Ranked 1st of 2 on the Home support framework: quality 100/100, price 50/100"
    assert cards[cheap.id] == ranking.service_rank(cheap.id)


def test_moving_a_lot_to_another_category_reindexes_both(index, make_provider, make_service, make_lot, make_membership, category):
    lot = make_lot("home-care")
    provider = make_provider()
    make_membership(lot, provider)
    make_service(provider=provider, title="Visits")
    make_service(provider=provider, title="Meals", category="meals", price_unit=PriceUnit.ITEM, price_pence=500)
    assert titles(framework_only=True) == ["Visits"]
    lot.category_id = category("meals").id
    db.session.commit()
    assert titles(framework_only=True) == ["Meals"]


def test_renaming_a_district_post_town_reaches_its_services(index, places, make_provider, make_service):
    from app.models import PostcodeDistrict

    make_service(title="Visits", provider=make_provider(base_district="PE9", areas=["PE9"], town="Ketton"))
    make_service(title="Serving the area", provider=make_provider(base_district="PE2", areas=["PE2", "PE9"], town="Peterborough"))
    assert sorted(titles(q="stamford")) == ["Serving the area", "Visits"]
    db.session.get(PostcodeDistrict, "PE9").post_town = "Uffington"
    db.session.commit()
    assert titles(q="stamford") == []
    assert sorted(titles(q="uffington")) == ["Serving the area", "Visits"]
    logged = newest_logged()
    db.session.get(PostcodeDistrict, "PE9").latitude = 52.661  # coordinates are read when searching
    db.session.flush()
    assert newest_logged() == logged
    db.session.rollback()


def test_a_renamed_category_shows_its_new_name_on_the_cards(index, make_service, category):
    make_service(title="Visits")
    assert [i.category_name for i in find(q="visits").items] == ["Home care"]
    category("home-care").name = "Support at home"
    db.session.commit()
    results = find(q="visits")
    assert [(i.category_slug, i.category_name) for i in results.items] == [("home-care", "Support at home")]


def test_a_large_reindex_is_taken_in_by_a_background_thread_not_the_request(index, make_provider, make_service, category, monkeypatch):
    monkeypatch.setattr(writer, "REQUEST_DRAIN_DOCUMENTS", 2)
    provider = make_provider()
    for n in range(3):
        make_service(provider=provider, title=f"Visit {n}")
    started = []
    real = writer.drain_in_background
    monkeypatch.setattr(writer, "drain_in_background", lambda index_dir: started.append(index_dir) or real(index_dir))
    assert find(q="zebra").total == 0
    category("home-care").name = "Zebra support"
    db.session.commit()  # three documents to rewrite: more than a request takes on itself
    assert started == [index]
    writer.background_drain(index).join(30)
    db.session.rollback()
    assert find(q="zebra").total == 3
    assert unread(index) == 0


def test_an_edit_reads_only_the_new_segment_and_reuses_the_rest(index, make_provider, make_service, make_lot, make_membership, monkeypatch):
    lot = make_lot("home-care")
    provider = make_provider()
    make_membership(lot, provider)
    services = [make_service(provider=provider, title=f"Visit {n}", price_pence=2000 + n) for n in range(40)]
    search.rebuild()
    find(q="visit")
    before = {seg.id: seg for seg, _, _ in search.engine().snapshot().leaves}
    loaded = []
    real_init = segment.Segment.__init__

    def counting_init(self, reader):
        loaded.append(reader.doc_count_all())
        real_init(self, reader)

    members = []
    real_member = ranking.Member

    def counting_member(*args, **kwargs):
        members.append(kwargs.get("service_id"))
        return real_member(*args, **kwargs)

    monkeypatch.setattr(segment.Segment, "__init__", counting_init)
    # Search reads the ranking service's names through its facade: count the members it makes.
    from app.services.search import ranks as search_ranks

    facade = types.SimpleNamespace(**{name: getattr(ranking, name) for name in ranking.__all__})
    facade.Member = counting_member
    monkeypatch.setattr(search_ranks, "ranking", facade)
    services[5].title = "Visit five"
    db.session.commit()
    results = find(q="visit")
    assert results.total == 40 and loaded == [1]  # only the one new document was read
    # Nothing re-ranked the whole lot: only the results shown were given a rank.
    assert len(members) <= len(results.items) == 20
    after = {seg.id: seg for seg, _, _ in search.engine().snapshot().leaves}
    assert all(after[segid] is seg for segid, seg in before.items() if segid in after)
    assert {i.service_id: i.rank for i in results.items} == {i.service_id: ranking.service_rank(i.service_id) for i in results.items}


def test_ranks_from_the_index_stay_equal_to_the_ranking_service_through_edits(
    index, make_provider, make_service, make_lot, make_membership
):
    """Cheapest prices, average quality and counts are kept per segment less what edits
    deleted: after edits of every kind, every rank agrees with the database's."""
    lot = make_lot("home-care", 70, 30)
    ratings = [CQCRating.OUTSTANDING, CQCRating.GOOD, CQCRating.GOOD, CQCRating.REQUIRES_IMPROVEMENT, None, None]
    providers = [make_provider(rating=r, cqc_location_id=None) if r is None else make_provider(rating=r) for r in ratings]
    for p in providers:
        make_membership(lot, p)
    services = [make_service(provider=p, title=f"Care {i}", price_pence=1800 + 150 * i) for i, p in enumerate(providers)]
    make_service(provider=providers[1], title="Care by the day", price_unit=PriceUnit.DAY, price_pence=9000)
    search.rebuild()

    def check():
        expected = {r.service_id: r for r in ranking.lot_ranking(lot.id)}
        shown = {i.service_id: i.rank for i in find(category="home-care").items if i.rank}
        assert shown == expected
        assert [r.reasons for r in shown.values()] == [expected[sid].reasons for sid in shown]

    check()
    services[0].price_pence = 1500  # a new cheapest: every price score changes
    db.session.commit()
    check()
    services[0].status = ServiceStatus.WITHDRAWN  # the cheapest leaves
    db.session.commit()
    check()
    providers[3].cqc_overall = CQCRating.OUTSTANDING  # the average of the rated changes
    db.session.commit()
    check()
    providers[4].cqc_overall = CQCRating.GOOD  # one fewer unrated
    db.session.commit()
    check()
    make_service(provider=providers[2], title="Care 9", price_pence=1800)  # joint scores
    check()
    services[0].status = ServiceStatus.PUBLISHED
    db.session.commit()
    lot.quality_weight, lot.price_weight = 40, 60
    db.session.commit()
    check()


# The command line ----------------------------------------------------------------------------


def test_the_search_commands_through_the_cli(app, runner, make_service):
    import json

    for n in range(3):
        make_service(title=f"Service {n}")
    index_dir = app.config["SEARCH_INDEX_DIR"]
    status = runner.invoke(args=["search", "status"])
    assert status.exit_code == 0 and json.loads(status.output)["state"] == "missing"
    drained = runner.invoke(args=["search", "drain"])
    assert drained.exit_code != 0 and "There is no search index yet: run `flask search rebuild`." in drained.output

    rebuilt = runner.invoke(args=["search", "rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "Indexing listed services" in rebuilt.output  # the progress bar's label
    assert "Indexed 3 services" in rebuilt.output
    assert find().total == 3

    with search.index_lock(index_dir):
        make_service(title="Queued while busy")  # its own drain finds the lock taken
    db.session.rollback()
    status = json.loads(runner.invoke(args=["search", "status"]).output)
    assert status["state"] == "behind" and status["pending_changes"] >= 1
    drained = runner.invoke(args=["search", "drain"])
    assert drained.exit_code == 0 and f"Took in {status['pending_changes']} unread changes (1 services rewritten)." in drained.output
    assert titles(q="queued") == ["Queued while busy"]
    status = json.loads(runner.invoke(args=["search", "status"]).output)
    assert status["state"] == "ready" and status["documents"] == 4 == status["listed_services"]


def test_a_large_market_is_indexed_by_the_parallel_rebuild(app, monkeypatch):
    """From PARALLEL_BUILD_FROM listed services, two processes each write a segment."""
    from bench import market

    monkeypatch.setattr(writer, "BUILD_PROCESSES", 2)
    market.generate(5_300, progress=lambda *args: None)
    db.session.remove()
    with db.engine.connect() as conn:
        listed = documents.listed_count_on(conn)
    assert listed >= writer.PARALLEL_BUILD_FROM
    progress = []
    report = search.rebuild(progress=lambda done, total: progress.append((done, total)))
    assert report.documents == listed and progress[-1] == (listed, listed)
    snap = search.engine().snapshot()
    assert len(snap.leaves) >= 2 and snap.count == listed
    assert find().total == listed
    home = find(q="home care", sort=Sort.PRICE)
    prices = [i.price_pence for i in home.items]
    assert home.total > 100 and prices == sorted(prices)
    for item in find(framework_only=True).items:
        assert item.rank == ranking.service_rank(item.service_id)
    # Over two segments of thousands: walking the merged orders and sorting agree.
    for kwargs in ({"q": "care"}, {"sort": Sort.PRICE, "page": 7}, {"sort": Sort.RATING, "page": 3}, {"framework_only": True, "page": 2}):
        monkeypatch.setattr(ordering, "DENSE", 10**9)
        walked = [i.service_id for i in find(**kwargs).items]
        monkeypatch.setattr(ordering, "DENSE", 0)
        assert [i.service_id for i in find(**kwargs).items] == walked and len(walked) == 20, kwargs


def test_walking_the_merged_orders_and_sorting_give_the_same_pages(
    index, places, make_provider, make_service, make_lot, make_membership, monkeypatch
):
    """A dense set of results is taken by walking the segments' orders merged; a sparse
    one by sorting it. Both must give the same order, page after page, across segments
    with deleted documents in them."""
    lot = make_lot("home-care", 60, 40)
    providers = [
        make_provider(base_district=d, areas=[d], rating=r)
        for d, r in (
            ("PE1", CQCRating.GOOD),
            ("PE2", CQCRating.OUTSTANDING),
            ("PE9", None),
            ("PE1", CQCRating.REQUIRES_IMPROVEMENT),
        )
    ]
    for p in providers[:2]:
        make_membership(lot, p)
    services = [
        make_service(
            provider=providers[n % 4],
            title=f"Home visit {n}",
            price_pence=1500 + 70 * (n % 9),
            category="home-care" if n % 3 else "meals",
            price_unit=PriceUnit.HOUR if n % 3 else PriceUnit.ITEM,
        )
        for n in range(48)
    ]
    search.rebuild()
    for s in (services[4], services[9], services[6]):  # edits: new segments, deleted documents in the old one
        s.price_pence += 35
        db.session.commit()
    services[7].status = ServiceStatus.WITHDRAWN
    db.session.commit()
    snap = search.engine().snapshot()
    assert len(snap.leaves) == 4 and len(snap.deleted[0]) == 4

    def pages(**kwargs):
        out = []
        for page in (1, 2, 3):
            out.extend((i.service_id, i.rank) for i in find(page=page, **kwargs).items)
        return out

    for kwargs in (
        {},
        {"q": "visit"},
        {"sort": Sort.PRICE},
        {"sort": Sort.RATING},
        {"postcode": "PE1 1AA", "radius_miles": 20, "sort": Sort.DISTANCE},
        {"category": "home-care"},
    ):
        monkeypatch.setattr(ordering, "DENSE", 10**9)  # always walk
        walked = pages(**kwargs)
        monkeypatch.setattr(ordering, "DENSE", 0)  # always sort
        sorted_ = pages(**kwargs)
        assert walked == sorted_, kwargs
        assert len(walked) == len({sid for sid, _ in walked}) == find(**kwargs).total


def test_a_deleted_lot_leaves_its_members_listed_but_unranked(index, make_provider, make_service, make_lot, make_membership):
    """Documents still naming a lot that no longer exists (deleted under the ORM) are
    treated as off the framework until they are rewritten: listed, in order, unranked."""
    from app.models import FrameworkMembership

    lot = make_lot("home-care")
    on, off = make_provider(), make_provider(rating=CQCRating.OUTSTANDING)
    make_membership(lot, on)
    make_service(provider=on, title="On the lot")
    make_service(provider=off, title="Not on it")
    assert titles() == ["On the lot", "Not on it"]
    conn = db.session.connection()
    conn.execute(FrameworkMembership.__table__.delete())
    conn.execute(FrameworkLot.__table__.delete())
    db.session.commit()
    results = find()
    assert [i.title for i in results.items] == ["Not on it", "On the lot"]  # by CQC quality now
    assert all(i.rank is None for i in results.items) and find(framework_only=True).total == 0
