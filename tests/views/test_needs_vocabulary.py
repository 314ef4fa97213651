"""Commissioners close the loop on unmet demand: a word people searched for that found
nothing ("stairlift") is given a meaning from the report's own page; it works at the next
search, is audited, shows in the report as now finding services, and can be taken out."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.database import utcnow
from app.extensions import db
from app.models import AuditEvent, SearchChannel, SearchLog
from tests.helpers import post_form, sign_in, table_rows, visible_text
from tests.services.test_search import find, index  # noqa: F401 - the index fixture


def _searched(words: str, times: int) -> None:
    for n in range(times):
        db.session.add(
            SearchLog(searched_at=utcnow() - dt.timedelta(days=3, minutes=n), words=words, result_count=0, channel=SearchChannel.WEB)
        )
    db.session.commit()


def _audit(action: str) -> list[AuditEvent]:
    return list(db.session.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars())


def test_a_word_that_found_nothing_is_given_a_meaning_and_then_finds_services(
    client,
    index,  # noqa: F811
    make_service,
    make_commissioner,
):
    lift = make_service(title="Stair and bath lift hire", description="Fitted and serviced.", category="equipment")
    make_service(title="Home care visits")
    _searched("stairlift", 6)
    assert find(q="stairlift").total == 0
    sign_in(client, make_commissioner())
    page = client.get("/commissioner/market/needs-vocabulary")
    rows = table_rows(page)
    assert ["stairlift", "6", "0", "Add ‘stairlift’ to the needs vocabulary"] in rows
    form = visible_text(client.get("/commissioner/market/needs-vocabulary?phrase=stairlift"))
    assert "Word or phrase people search for" in form

    done = post_form(client, "/commissioner/market/needs-vocabulary", {"phrase": "Stairlift", "meaning": "category:equipment"})
    assert "‘Stairlift’ now leads to Equipment and adaptations, from the next search." in visible_text(client.get(done.location))
    results = find(q="stairlift")
    assert [i.service_id for i in results.items] == [lift.id]
    assert results.items[0].meets == ("Equipment and adaptations",)
    added = _audit("search.need_word_added")
    assert len(added) == 1 and added[0].after == {"phrase": "Stairlift", "means": "Equipment and adaptations"}
    # The report's table shows the searches now find something.
    report = table_rows(client.get("/commissioner/market/demand"))
    assert ["stairlift", "6", "1"] in report
    assert "Say what these words mean" in visible_text(client.get("/commissioner/market/demand"))
    page_rows = table_rows(client.get("/commissioner/market/needs-vocabulary"))
    assert any(row[:2] == ["Stairlift", "Equipment and adaptations"] and row[3] == "1" for row in page_rows)


def test_bad_words_are_explained_and_nothing_is_kept(client, index, make_commissioner):  # noqa: F811
    sign_in(client, make_commissioner())
    url = "/commissioner/market/needs-vocabulary"
    cases = [
        ({"phrase": "", "meaning": "washing"}, "Enter the word or phrase people search for"),
        ({"phrase": "the", "meaning": "washing"}, "little words like ‘the’ or ‘for’ are left out"),
        ({"phrase": "someone", "meaning": "company"}, "says who or what someone wants"),
        ({"phrase": "bathing", "meaning": "company"}, "‘bathing’ already leads to help with washing and bathing"),
        ({"phrase": "stairlift", "meaning": "nonsense"}, "Choose what the word means from the list"),
        ({"phrase": "x" * 81, "meaning": "washing"}, "80 characters or fewer"),
    ]
    for data, message in cases:
        response = post_form(client, url, data)
        assert response.status_code == 200 and message in visible_text(response), data
    assert _audit("search.need_word_added") == []
    post_form(client, url, {"phrase": "walk-in shower", "meaning": "washing"})
    again = post_form(client, url, {"phrase": "walk in showers", "meaning": "equipment"})
    assert "‘walk in showers’ already leads to help with washing and bathing" in visible_text(again)


def test_a_word_taken_out_stops_working_at_once(client, index, make_service, make_commissioner):  # noqa: F811
    make_service(title="Grab rails fitted", category="equipment")
    sign_in(client, make_commissioner())
    post_form(client, "/commissioner/market/needs-vocabulary", {"phrase": "bannister", "meaning": "category:equipment"})
    assert find(q="bannister").total == 1
    from app.models import CouncilNeedWord

    word = db.session.execute(select(CouncilNeedWord)).scalar_one()
    done = post_form(client, f"/commissioner/market/needs-vocabulary/{word.id}/remove", {})
    assert "‘bannister’ has been taken out of the needs vocabulary." in visible_text(client.get(done.location))
    assert find(q="bannister").total == 0
    assert _audit("search.need_word_removed")[0].before == {"phrase": "bannister", "means": "Equipment and adaptations"}
    again = post_form(client, f"/commissioner/market/needs-vocabulary/{word.id}/remove", {})
    assert "has been taken out already" in visible_text(client.get(again.location))
    assert client.post("/commissioner/market/needs-vocabulary/999999/remove", data={}).status_code in (302, 400, 404)
    # Taken out, the word can be added again.
    post_form(client, "/commissioner/market/needs-vocabulary", {"phrase": "bannister", "meaning": "moving-and-handling"})
    assert find(q="bannister").items[0].meets == ("moving and handling",)


def test_two_commissioners_adding_the_same_word_at_once_add_it_once(app, make_commissioner, category):
    """The one-live-entry-per-phrase rule is the database's: of two adds at the same moment
    one wins, the other is told someone else added it (never a 500, never two entries)."""
    from app.models import CouncilNeedWord, User
    from app.services import search
    from app.services.errors import Conflict
    from tests.helpers import run_at_once

    category("equipment")
    ids = [make_commissioner().id, make_commissioner().id]

    def add(i):
        return search.add_word(db.session.get(User, ids[i]), phrase="Stairlift", meaning="category:equipment").id

    ok, errors = run_at_once(app, 2, add)
    assert len(ok) == 1
    assert len(errors) == 1 and isinstance(errors[0], Conflict), errors
    assert "added a moment ago by someone else" in str(errors[0])
    live = db.session.execute(select(CouncilNeedWord).where(CouncilNeedWord.removed_at.is_(None))).scalars().all()
    assert [w.phrase for w in live] == ["Stairlift"]
    assert len(_audit("search.need_word_added")) == 1
