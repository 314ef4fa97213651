"""Who a service supports, as people meet it: a provider ticks the groups on its listing's
form, the service page lists them, and the search page filters by them with counts."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, PeopleGroup, SearchLog, Service
from app.services import people_supported, search
from tests.helpers import page, post_form, sign_in, summary_rows, visible_text


def _listing(category_id: int, **overrides) -> dict:
    data = {
        "title": "Weekend activities",
        "category_id": str(category_id),
        "description": "Bowling, cinema and swimming with a small group.",
        "price": "18",
        "price_unit": "hour",
        "min_units": "1",
        "funding_routes": ["personal_budget", "self_funder"],
        "people_supported": ["autism", "younger_adults"],
    }
    data.update(overrides)
    return data


def test_a_provider_says_who_a_listing_supports_and_people_see_it(app, client, make_provider, make_provider_staff, category):
    search.rebuild()
    provider = make_provider(service_radius_miles=10)
    sign_in(client, make_provider_staff(provider))
    home = category("home-care")

    form = page(client.get("/provider/services/new"))
    boxes = form.select("input[name=people_supported]")
    assert [b["value"] for b in boxes] == [g.value for g in PeopleGroup]
    assert "Who does this service support? (optional)" in visible_text(form)

    post_form(client, "/provider/services/new", _listing(home.id))
    service = db.session.execute(select(Service).where(Service.title == "Weekend activities")).scalar_one()
    assert service.people_supported == [PeopleGroup.YOUNGER_ADULTS, PeopleGroup.AUTISM]
    created = db.session.execute(select(AuditEvent).where(AuditEvent.action == "service.created")).scalar_one()
    assert created.after["people_supported"] == ["younger_adults", "autism"]
    own = summary_rows(client.get(f"/provider/services/{service.id}"))
    assert own["Who it supports"] == "Younger adults (18 to 64) Autistic people"

    # The edit form shows what was chosen; a change is audited with the listing's others.
    edit = page(client.get(f"/provider/services/{service.id}/edit"))
    assert {b["value"] for b in edit.select("input[name=people_supported][checked]")} == {"autism", "younger_adults"}
    post_form(client, f"/provider/services/{service.id}/edit", _listing(home.id, people_supported=["autism", "learning_disabilities"]))
    db.session.expire_all()
    assert service.people_supported == [PeopleGroup.LEARNING_DISABILITIES, PeopleGroup.AUTISM]
    updated = db.session.execute(select(AuditEvent).where(AuditEvent.action == "service.updated")).scalar_one()
    assert updated.before == {"people_supported": ["younger_adults", "autism"]}
    assert updated.after == {"people_supported": ["learning_disabilities", "autism"]}

    post_form(client, f"/provider/services/{service.id}/publish", form_page=f"/provider/services/{service.id}")
    public = app.test_client().get(f"/services/{service.id}")
    assert public.status_code == 200
    assert summary_rows(public)["Who it supports"] == "Learning disabilities Autistic people"
    # Found by the word for it, though the listing never says it.
    assert app.test_client().get("/search?q=autistic").get_data(as_text=True).count("Weekend activities") >= 1

    # None is an answer: the service page says so.
    post_form(client, f"/provider/services/{service.id}/edit", _listing(home.id, people_supported=[]))
    assert summary_rows(app.test_client().get(f"/services/{service.id}"))["Who it supports"] == "Not stated: ask the provider"


def test_a_choice_that_is_not_on_the_list_is_refused_with_a_clear_message(client, make_provider, make_provider_staff, category):
    sign_in(client, make_provider_staff(make_provider()))
    response = post_form(client, "/provider/services/new", _listing(category("home-care").id, people_supported=["autism", "martians"]))
    assert response.status_code == 200
    assert "Select who the service supports from the list" in visible_text(response)
    assert db.session.execute(select(Service)).first() is None


def test_the_search_page_filters_by_who_a_service_supports_with_counts(client, make_district, make_service):
    make_district("PE1")
    search.rebuild()
    for title, groups in (("Day club", [PeopleGroup.DEMENTIA, PeopleGroup.OLDER_PEOPLE]), ("Home visits", [PeopleGroup.OLDER_PEOPLE])):
        people_supported.declare(make_service(title=title), groups)
        db.session.commit()
    make_service(title="Gardening", category="cleaning")

    response = client.get("/search?supports=older_people")
    assert response.status_code == 200
    text = visible_text(response)
    assert "2 services found" in text
    radios = {r["value"]: r for r in page(response).select("input[name=supports]")}
    assert radios["older_people"].has_attr("checked") and not radios[""].has_attr("checked")
    labels = [lab.get_text(" ", strip=True) for lab in page(response).select("input[name=supports] + label")]
    assert "Older people (65 and over) (2)" in labels and "People living with dementia (1)" in labels and "Anyone" in labels
    log = db.session.execute(select(SearchLog)).scalar_one()
    assert log.supports is PeopleGroup.OLDER_PEOPLE

    bad = client.get("/search?supports=nonsense")
    assert bad.status_code == 200
    summary = page(bad).select_one(".govuk-error-summary")
    assert "Choose who the service supports from the list" in summary.get_text(" ")
