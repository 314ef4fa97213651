"""Providers' bank details through the real pages: an owner sends new details with their
password, every team member sees them masked, and a commissioner checks and confirms them
on the one page that shows the full account number."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app import create_app
from app.extensions import db
from app.models import AuditEvent, BankAccountStatus, OrgRole, ProviderBankAccount
from tests.factories import DEFAULT_PASSWORD
from tests.helpers import csrf_from, h1, links, outbox, page, post_form, sign_in, squash, title, visible_text

NEW = {"account_name": "Alpha Care Ltd", "sort_code": "30-94-30", "account_number": "00733445", "password": DEFAULT_PASSWORD}
PAGE = "/provider/bank-details"


@pytest.fixture
def provider(make_provider):
    return make_provider(name="Alpha Care")


@pytest.fixture
def owner(make_provider_staff, provider):
    return make_provider_staff(provider, OrgRole.OWNER, name="Olive Owner")


@pytest.fixture
def owner_client(client, owner):
    sign_in(client, owner)
    return client


@pytest.fixture
def commissioner_client(app, make_commissioner):
    client = app.test_client()
    sign_in(client, make_commissioner(name="Cara Commissioner"))
    return client


def changes() -> list[ProviderBankAccount]:
    db.session.expire_all()
    return list(db.session.execute(select(ProviderBankAccount).order_by(ProviderBankAccount.id)).scalars())


def error_summary(response) -> str:
    summary = page(response).select_one(".govuk-error-summary")
    assert summary is not None, "no error summary on the page"
    return squash(summary.get_text(" "))


def send(client, **fields):
    return post_form(client, PAGE, {**NEW, **fields})


def test_an_owner_sends_new_details_and_a_commissioner_confirms_them(owner_client, commissioner_client, owner, provider):
    dashboard = owner_client.get("/provider")
    assert links(dashboard)["See your bank details"] == PAGE
    empty = owner_client.get(PAGE)
    assert h1(empty) == "Bank details"
    assert "has no confirmed bank details for your organisation yet, so it cannot pay you" in visible_text(empty)

    sent = send(owner_client)
    assert sent.status_code == 302 and sent.headers["Location"].endswith(PAGE)
    waiting = owner_client.get(PAGE)
    text = visible_text(waiting)
    assert "Your new bank details have been sent to the council" in text
    assert "Change waiting for the council" in text and "Waiting for the council to confirm" in text
    assert "30-94-30, account ending 3445" in text
    assert "00733445" not in waiting.get_data(as_text=True)
    assert outbox(owner.email)[-1].subject == "New bank details for Alpha Care are waiting to be confirmed"

    queue = commissioner_client.get("/commissioner/bank-details")
    assert h1(queue) == "Providers’ new bank details"
    assert "Alpha Care" in visible_text(queue) and "30-94-30, account ending 3445" in visible_text(queue)
    assert "00733445" not in queue.get_data(as_text=True)
    [change] = changes()
    check = commissioner_client.get(f"/commissioner/bank-details/{change.id}")
    assert "00733445" in visible_text(check)  # the one page with the full number, to read back to the provider
    assert "Sort code 30-94-30" in visible_text(check)

    missing_note = post_form(commissioner_client, f"/commissioner/bank-details/{change.id}", {"decision": "confirm", "note": ""})
    assert missing_note.status_code == 200
    assert title(missing_note).startswith("Error: ")
    assert "Enter how you checked the new details with the provider" in error_summary(missing_note)

    done = post_form(
        commissioner_client, f"/commissioner/bank-details/{change.id}", {"decision": "confirm", "note": "Phoned the number on our file"}
    )
    assert done.status_code == 302 and done.headers["Location"].endswith("/commissioner/bank-details")
    after = commissioner_client.get("/commissioner/bank-details")
    assert "The new bank details for Alpha Care are confirmed" in visible_text(after)
    assert "No new bank details are waiting to be confirmed" in visible_text(after)
    decided = commissioner_client.get(f"/commissioner/bank-details/{change.id}")
    assert "00733445" not in decided.get_data(as_text=True)  # masked once decided
    assert "Phoned the number on our file" in visible_text(decided)

    confirmed = visible_text(owner_client.get(PAGE))
    assert "Where the council pays you" in confirmed and "30-94-30, account ending 3445" in confirmed
    assert "Change waiting for the council" not in confirmed
    assert "confirmed" in outbox(owner.email)[-1].subject


def test_a_commissioner_rejects_a_change_and_the_owner_sees_why(owner_client, commissioner_client, owner):
    send(owner_client)
    [change] = changes()
    rejected = post_form(
        commissioner_client,
        f"/commissioner/bank-details/{change.id}",
        {"decision": "reject", "note": "The provider says it did not ask for this"},
    )
    assert rejected.status_code == 302
    assert changes()[0].status is BankAccountStatus.REJECTED
    text = visible_text(owner_client.get(PAGE))
    assert "Earlier bank details" in text and "Not accepted: The provider says it did not ask for this" in text


@pytest.mark.parametrize("role", [OrgRole.MANAGER, OrgRole.STAFF])
def test_someone_who_is_not_an_owner_sees_the_details_masked_and_cannot_change_them(app, owner_client, provider, make_provider_staff, role):
    send(owner_client)
    member = make_provider_staff(provider, role)
    client = app.test_client()
    sign_in(client, member)
    shown = client.get(PAGE)
    assert shown.status_code == 200
    assert "Only an owner of your organisation can change them." in visible_text(shown)
    assert "30-94-30, account ending 3445" in visible_text(shown)
    assert page(shown).find("input", attrs={"name": "account_number"}) is None
    token = csrf_from(client.get("/provider"))
    refused = client.post(PAGE, data={**NEW, "account_number": "12345678", "csrf_token": token})
    assert refused.status_code == 302 and refused.headers["Location"].endswith("/provider")
    assert "Only an owner of your organisation can change its bank details." in visible_text(client.get("/provider"))
    assert [c.account_number for c in changes()] == ["00733445"]


def test_a_wrong_password_is_refused_and_nothing_is_saved(owner_client):
    response = send(owner_client, password="not my password")
    assert response.status_code == 200
    assert title(response).startswith("Error: ")
    summary = error_summary(response)
    assert "Your password is not right" in summary
    assert "not my password" not in response.get_data(as_text=True)
    assert changes() == []
    assert db.session.execute(select(func.count(AuditEvent.id))).scalar_one() == 0


def test_details_in_the_wrong_form_are_refused_with_clear_messages(owner_client):
    response = send(owner_client, sort_code="12345", account_number="12", account_name="")
    summary = error_summary(response)
    assert "Enter a valid sort code, like 309430" in summary
    assert "Enter a valid account number, like 00733445: it must be between 6 and 8 digits long" in summary
    assert "Enter the name on the account" in summary
    soup = page(response)
    assert soup.find(id="sort_code-error") is not None and soup.find(id="account_number-error") is not None
    assert changes() == []


def test_the_form_follows_the_gov_uk_bank_details_pattern(owner_client):
    soup = page(owner_client.get(PAGE))
    for name in ("sort_code", "account_number"):
        field = soup.find("input", attrs={"name": name})
        assert field["inputmode"] == "numeric"
        assert field["spellcheck"] == "false"
        assert field["autocomplete"] == "off"
    assert soup.find("input", attrs={"name": "account_name"})["autocomplete"] == "off"
    assert soup.find("input", attrs={"name": "password"})["type"] == "password"
    assert "Must be 6 digits long" in visible_text(soup)


def test_a_new_change_replaces_the_one_waiting(owner_client):
    send(owner_client)
    send(owner_client, account_number="12345678")
    old, new = changes()
    assert (old.status, old.decision_note) == (BankAccountStatus.REJECTED, "replaced by a newer change")
    assert new.status is BankAccountStatus.PENDING
    assert "30-94-30, account ending 5678" in visible_text(owner_client.get(PAGE))


def test_another_providers_bank_details_cannot_be_reached(app, owner_client, make_provider, make_provider_staff):
    send(owner_client)
    [change] = changes()
    other = make_provider_staff(make_provider(name="Beta Care"), OrgRole.OWNER)
    client = app.test_client()
    sign_in(client, other)
    own_page = visible_text(client.get(PAGE))
    assert "3445" not in own_page and "Alpha Care" not in own_page
    assert client.get(f"/commissioner/bank-details/{change.id}").status_code == 404
    assert (
        post_form(client, f"/commissioner/bank-details/{change.id}", {"decision": "confirm", "note": "x"}, form_page=PAGE).status_code
        == 404
    )
    assert changes()[0].status is BankAccountStatus.PENDING


def test_a_commissioner_asking_for_details_that_do_not_exist_gets_404(commissioner_client):
    assert commissioner_client.get("/commissioner/bank-details/999999").status_code == 404


def test_changing_bank_details_needs_a_valid_csrf_token(app, owner_client, commissioner_client):
    assert app.config.get("WTF_CSRF_ENABLED", True) is True
    refused = owner_client.post(PAGE, data=NEW)
    assert refused.status_code == 400
    assert "This form has expired" in visible_text(refused)
    assert changes() == []
    send(owner_client)
    [change] = changes()
    forged = commissioner_client.post(
        f"/commissioner/bank-details/{change.id}", data={"decision": "confirm", "note": "x", "csrf_token": "forged"}
    )
    assert forged.status_code == 400
    assert changes()[0].status is BankAccountStatus.PENDING


@pytest.fixture
def limited_client(app):
    """A client of the same database with rate limits switched on (they are off in tests)."""
    limited = create_app(
        {
            **{k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "SEARCH_INDEX_DIR", "INSTANCE_PATH")},
            "RATELIMIT_ENABLED": True,
            "TESTING": True,
        }
    )
    yield limited.test_client()


def test_wrong_passwords_here_count_towards_the_accounts_limit_on_password_checks(limited_client, owner):
    sign_in(limited_client, owner)
    for _ in range(10):
        assert send(limited_client, password="a guess").status_code == 200
    assert send(limited_client).status_code == 429
    assert changes() == []
