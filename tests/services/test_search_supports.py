"""Search by who a service supports: the words people use for a group find the listings that
declare it (whatever their own text says), a filter with a count for each group, and an
index that follows each listing's groups as they change."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import PeopleGroup
from app.services import people_supported, search
from app.services.errors import ValidationError
from app.services.search import SearchParams
from tests.services.test_search import find, index, titles  # noqa: F401 - the index fixture

G = PeopleGroup


def declared(service, *groups: PeopleGroup):
    people_supported.declare(service, groups)
    db.session.commit()
    return service


@pytest.fixture
def market(make_service):
    return {
        "autism": declared(
            make_service(title="Weekend activities", description="Bowling, cinema and swimming."), G.AUTISM, G.YOUNGER_ADULTS
        ),
        "dementia": declared(make_service(title="Day club", description="Lunch and company."), G.DEMENTIA, G.OLDER_PEOPLE),
        "older": declared(make_service(title="Home visits", description="Help at home."), G.OLDER_PEOPLE),
        "none": make_service(title="Gardening", description="Lawns and hedges.", category="cleaning"),
    }


@pytest.mark.parametrize("words", ["autism", "autistic", "Autistic", "asperger", "ASD"])
def test_words_for_a_group_find_a_listing_that_declares_it_but_never_says_them(index, market, words):  # noqa: F811
    assert titles(q=words) == ["Weekend activities"]


def test_everyday_words_for_other_groups(index, market):  # noqa: F811
    assert titles(q="alzheimers") == ["Day club"]
    assert set(titles(q="elderly")) == {"Day club", "Home visits"}
    assert titles(q="autistic swimming") == ["Weekend activities"]  # a group's words and the listing's own together
    assert "Gardening" not in titles(q="deaf")  # it declares no one


def test_a_listing_that_says_the_word_itself_comes_before_one_that_only_declares_the_group(index, market, make_service):  # noqa: F811
    make_service(title="Autism outreach", description="Support at home.")
    assert titles(q="autism") == ["Autism outreach", "Weekend activities"]


def test_the_filter_narrows_results_and_its_counts_are_right(index, market):  # noqa: F811
    assert titles(supports=G.AUTISM) == ["Weekend activities"]
    assert set(titles(supports=G.OLDER_PEOPLE)) == {"Day club", "Home visits"}
    assert titles(supports=G.END_OF_LIFE) == []
    assert titles(category="cleaning", supports=G.OLDER_PEOPLE) == []
    assert set(titles(category="home-care", supports=G.OLDER_PEOPLE)) == {"Day club", "Home visits"}

    facet = find().facets.supports
    assert [v.value for v in facet] == [g.value for g in PeopleGroup]
    counts = {v.value: v.count for v in facet}
    assert counts == {g.value: 0 for g in PeopleGroup} | {"older_people": 2, "dementia": 1, "autism": 1, "younger_adults": 1}
    assert next(v.label for v in facet if v.value == "autism") == "Autistic people"
    # Counted with every other filter but its own, and the chosen group marked.
    chosen = find(supports=G.DEMENTIA).facets.supports
    assert {v.value: v.count for v in chosen}["older_people"] == 2
    assert [v.value for v in chosen if v.selected] == ["dementia"]
    assert {v.value: v.count for v in find(category="cleaning").facets.supports}["older_people"] == 0

    item = find(supports=G.DEMENTIA).items[0]
    assert item.supports == (G.OLDER_PEOPLE, G.DEMENTIA)
    assert find(q="gardening").items[0].supports == ()


def test_the_index_follows_each_listings_groups(index, market):  # noqa: F811
    assert "Gardening" not in titles(q="deaf")
    declared(market["none"], G.SENSORY_IMPAIRMENTS)
    assert "Gardening" in titles(q="deaf")
    assert titles(supports=G.SENSORY_IMPAIRMENTS) == ["Gardening"]
    declared(market["autism"], G.YOUNGER_ADULTS)  # autism taken away
    assert "Weekend activities" not in titles(q="asperger")
    assert titles(supports=G.AUTISM) == []


def test_a_group_is_a_parameter_like_the_others():
    assert search.params_from_args({"supports": " Autism "}) == SearchParams(supports=G.AUTISM)
    assert search.params_from_args({"supports": "any"}) == SearchParams()
    assert search.params_from_args({"supports": ""}).is_blank
    assert not SearchParams(supports=G.DEMENTIA).is_blank
    assert SearchParams(supports=G.DEMENTIA).as_args() == {"supports": "dementia"}
    with pytest.raises(ValidationError) as refused:
        search.params_from_args({"supports": "nonsense"})
    assert refused.value.errors == {"supports": "Choose who the service supports from the list"}
