"""Search that understands needs in plain words, as a person describing what is wrong would
try it: everyday words for needs find what meets them and say so, words that carry no need
never empty the results, most of the words are matched when all of them find little, and a
search that finds nothing offers the nearest broader one. Search syntax means what it says."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Category, CQCRating, FundingRoute
from app.services.search import SearchParams, needs
from app.services.search.needs import VocabularyError
from app.services.search.query import parse
from app.services.search.understanding import understand
from tests.services.test_search import find, index  # noqa: F401 - the index fixture


def titles(**kwargs) -> list[str]:
    return [item.title for item in find(**kwargs).items]


# The vocabulary file --------------------------------------------------------------------------


def test_the_vocabulary_file_is_sound(app):
    vocabulary = needs.from_file()
    known = set(db.session.execute(select(Category.slug)).scalars())
    assert len(vocabulary.needs) >= 15
    for need in vocabulary.needs.values():
        assert need.label and need.phrases, need.key
        assert set(need.categories) <= known, (need.key, set(need.categories) - known)
    # The needs the issue names are all there.
    for phrase in ("washing", "bathing", "dressing", "toileting", "getting up", "going to bed", "lonely", "isolated", "talk",
                   "visits", "cleaning", "shopping", "laundry", "garden", "trips", "hobbies", "day out", "medication",
                   "moving and handling", "night", "break"):  # fmt: skip
        assert vocabulary.need_of(needs.stems(phrase)) is not None, phrase
    assert {"my", "someon", "help", "need", "dad"} <= vocabulary.neutral


def test_a_phrase_for_two_needs_or_for_no_need_is_refused():
    one = {"label": "a", "phrases": ["bath"], "categories": ["home-care"]}
    with pytest.raises(VocabularyError, match="belongs to both"):
        needs.parse({"needs": {"washing": one, "bathing": {**one, "phrases": ["bathing"]}}})
    with pytest.raises(VocabularyError, match="carries no need"):
        needs.parse({"needs": {"x": {**one, "phrases": ["someone"]}}, "neutral": {"words": ["someone"]}})
    with pytest.raises(VocabularyError, match="must have a label"):
        needs.parse({"needs": {"x": {"phrases": ["bath"], "categories": ["home-care"]}}})


def test_words_that_carry_no_need_are_left_out_and_syntax_is_left_alone():
    vocabulary = needs.from_file()

    def words(text):
        node = understand(parse(text), text, vocabulary)
        units = node.children if node.kind == "and" else [node]
        return [u.need or " ".join(u.words or (u.children[0].words if u.children else ())) for u in units]

    assert words("my dad needs someone for the garden") == ["garden"]
    assert words("help getting dressed") == ["dressing"]
    assert words("help") == ["help"]  # nothing but such words: searched as typed
    assert understand(parse('"personal care"'), '"personal care"', vocabulary).need is None
    assert understand(parse("bath AND night"), "bath AND night", vocabulary).kind == "and"
    assert all(u.need is None for u in understand(parse("bath AND night"), "bath AND night", vocabulary).children)


# Searching ------------------------------------------------------------------------------------


@pytest.fixture
def market(make_service, make_provider):
    return {
        "care": make_service(title="Personal care at home", description="Visits at home.", category="home-care"),
        "friends": make_service(title="Befriending visits", description="A weekly visit and a chat.", category="befriending"),
        "garden": make_service(title="Gardening and handy help", description="Lawns, hedges and odd jobs.", category="cleaning"),
        "meals": make_service(title="Hot meals delivered", description="A hot lunch every day.", category="meals"),
        "respite": make_service(title="Weekend short breaks", description="Overnight stays.", category="short-breaks"),
    }


@pytest.mark.parametrize(
    "typed, expected, need",
    [
        ("help with a bath", "Personal care at home", "help with washing and bathing"),
        ("my dad needs help getting dressed", "Personal care at home", "help getting dressed"),
        ("lonely", "Befriending visits", "company and someone to talk to"),
        ("my mum is isolated", "Befriending visits", "company and someone to talk to"),
        ("someone to do the garden", "Gardening and handy help", "help with the garden"),
        ("I need a break from caring", "Weekend short breaks", "a break for a carer"),
    ],
)
def test_everyday_words_find_what_meets_the_need_and_say_so(index, market, typed, expected, need):  # noqa: F811
    results = find(q=typed)
    assert results.items and results.items[0].title == expected, [i.title for i in results.items]
    assert need in results.items[0].meets


def test_the_words_as_typed_come_before_what_only_meets_the_need(index, market, make_service):  # noqa: F811
    make_service(title="Bathing at home", description="Help with a bath or shower.", category="home-care")
    assert titles(q="bath")[:2] == ["Bathing at home", "Personal care at home"]


def test_a_word_the_listings_lack_no_longer_empties_the_page(index, market):  # noqa: F811
    results = find(q="garden hedges pond")
    # "pond" is in no listing: the listing matching the other two words follows, under its own line.
    assert results.every_word_total == 0 and results.total == 1
    assert results.items[0].title == "Gardening and handy help" and not results.items[0].every_word
    assert results.some_words_from == 0


def test_most_of_the_words_follow_every_word_in_order_of_how_many(index, make_service):  # noqa: F811
    make_service(title="Alpha beta gamma", category="cleaning")
    make_service(title="Alpha beta", category="cleaning")
    make_service(title="Alpha", category="cleaning")
    make_service(title="Delta", category="cleaning")
    results = find(q="alpha beta gamma")
    assert [(i.title, i.every_word) for i in results.items] == [("Alpha beta gamma", True), ("Alpha beta", False)]
    assert results.every_word_total == 1 and results.some_words_from == 1
    # Four words: two of them is most ("at least half").
    assert {i.title for i in find(q="alpha beta zeta eta").items} == {"Alpha beta gamma", "Alpha beta"}
    # Search syntax means what it says: no partial matches.
    assert find(q="alpha AND beta AND gamma AND zeta").total == 0
    assert find(q='"alpha beta gamma" zeta').total == 0


def test_no_partial_matches_when_a_page_matches_every_word(index, make_service):  # noqa: F811
    for n in range(20):
        make_service(title=f"Alpha beta {n}", category="cleaning")
    make_service(title="Alpha only", category="cleaning")
    results = find(q="alpha beta")
    assert results.total == 20 and all(i.every_word for i in results.items)


def test_filters_apply_to_partial_matches_and_facets_count_them(index, make_service):  # noqa: F811
    make_service(title="Alpha beta", category="cleaning", accepts_prepaid_card=False)
    make_service(title="Alpha beta again", category="cleaning")
    results = find(q="alpha beta omega", funding=FundingRoute.PREPAID_CARD)
    assert [i.title for i in results.items] == ["Alpha beta again"]
    assert {v.value: v.count for v in find(q="alpha beta omega").facets.funding}[FundingRoute.PREPAID_CARD.value] == 1


def test_a_search_that_finds_nothing_offers_the_nearest_broader_one(index, market, make_district):  # noqa: F811
    results = find(q="garden", category="meals")
    assert results.total == 0
    assert results.broader.change == "in any type of support" and results.broader.total == 1
    assert results.broader.params == SearchParams(q="garden")
    results = find(q="garden", min_cqc_rating=CQCRating.OUTSTANDING)
    assert results.broader.change == "without the filters"
    assert find(q="zeppelin").broader is None  # nothing broader finds it either: no suggestion


def test_the_page_shows_both_groups_the_needs_met_and_the_broader_search(client, index, market):  # noqa: F811
    from tests.helpers import visible_text

    text = visible_text(client.get("/search?q=garden+hedges+pond"))
    assert "Services that match some of your words" in text and "No service matches all of your words" in text
    assert "Matches: help with the garden" in visible_text(client.get("/search?q=someone+for+the+garden"))
    text = visible_text(client.get("/search?q=garden&category=meals"))
    assert "No services found for ‘garden’" in text
    assert "The nearest broader search: ‘garden’ in any type of support finds 1 service." in text
    body = client.get("/api/v1/services?q=garden&category=meals").json
    assert body["broader"] == {"query": {"q": "garden"}, "total": 1, "change": "in any type of support"}
    body = client.get("/api/v1/services?q=someone+for+the+garden").json
    assert body["results"][0]["meets"] == ["help with the garden"] and body["results"][0]["matches_every_word"] is True


def test_a_long_rambling_description_still_finds_something(index, market):  # noqa: F811
    typed = (
        "my husband had a stroke last year and he is lonely at home all day and I am worn out looking after him and "
        "he cannot get in the bath any more and the garden is a mess"
    )
    results = find(q=typed)
    assert results.total > 0
    assert {"Befriending visits", "Personal care at home"} & {i.title for i in results.items}
