"""Changing an email address: the new address is confirmed by a link sent to it before it
replaces the old one; the old address keeps working until then and is told of the request."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from app import create_app
from app.extensions import db
from app.models import AccountToken, AuditEvent, TokenPurpose
from tests.factories import DEFAULT_PASSWORD
from tests.helpers import link_in, outbox, post_form, sign_in, title, visible_text

NEW = "new@example.test"


def _ask(client, email=NEW, password=DEFAULT_PASSWORD):
    return post_form(
        client, "/account/details", {"name": "Jo Bloggs", "citizen_funding": "self_funder", "email": email, "current_password": password}
    )


def _actions(action):
    return list(db.session.execute(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).scalars())


def test_a_new_email_waits_for_its_link_while_the_old_one_keeps_working_and_is_told(app, client, make_citizen):
    user = make_citizen()
    old = user.email
    sign_in(client, user)
    response = _ask(client, email="New@Example.TEST")
    assert response.headers["Location"] == "/account/email/check-your-email"
    page = client.get("/account/email/check-your-email")
    assert title(page).startswith("Check your email") and "We have sent a link to new@example.test" in visible_text(page)

    db.session.refresh(user)
    assert user.email == old and user.name == "Jo Bloggs"  # the name is saved at once; the address is not
    told = outbox(old)[-1]
    assert told.subject == "A change of email address was asked for" and NEW in told.body_text
    assert "/email/confirm/" not in told.body_text  # nothing in the old inbox completes the change
    assert "/email/confirm/" in outbox(NEW)[-1].body_text
    sign_in(app.test_client(), user)  # the old address still signs in
    home = visible_text(client.get("/account"))
    assert "New email address waiting to be confirmed" in home and NEW in home
    event = _actions("account.email_change_requested")[-1]
    assert (event.before, event.after, event.actor_id) == ({"email": old}, {"email": NEW}, user.id)


def test_opening_the_link_changes_the_address_once_ends_other_sign_ins_and_kills_old_links(app, make_citizen):
    user = make_citizen()
    old = user.email
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, user)
    sign_in(phone, user)
    post_form(app.test_client(), "/password/forgot", {"email": old})
    reset_path = link_in(outbox(old)[-1], "/password/reset/")
    _ask(laptop)
    confirm_path = link_in(outbox(NEW)[-1], "/email/confirm/")

    page = laptop.get(confirm_path)  # opening the link shows a button; a mail scanner changes nothing
    assert page.status_code == 200 and NEW in visible_text(page)
    db.session.refresh(user)
    assert user.email == old
    response = post_form(laptop, confirm_path)
    assert response.headers["Location"] == "/account"
    assert f"Your email address is now {NEW}" in visible_text(laptop.get("/account"))
    db.session.refresh(user)
    assert user.email == NEW
    assert phone.get("/account").status_code == 302  # the other sign-in ended
    event = _actions("account.email_changed")[-1]
    assert (event.before, event.after, event.actor_id) == ({"email": old}, {"email": NEW}, user.id)
    assert outbox(old)[-1].subject == "The email address for your account has changed"
    assert app.test_client().get(reset_path).status_code == 404  # the link sent to the old address is dead
    # The link works once.
    again = post_form(app.test_client(), confirm_path, form_page="/sign-in")
    assert again.status_code == 404 and "expired or has already been used" in visible_text(again)
    sign_in(app.test_client(), user)  # under the new address


def test_a_link_opened_in_another_browser_signs_everyone_out(app, make_citizen):
    user = make_citizen()
    laptop = app.test_client()
    sign_in(laptop, user)
    _ask(laptop)
    other = app.test_client()
    confirm_path = link_in(outbox(NEW)[-1], "/email/confirm/")
    response = post_form(other, confirm_path)
    assert response.headers["Location"] == "/sign-in"
    assert laptop.get("/account").status_code == 302
    db.session.refresh(user)
    assert user.email == NEW


def test_an_expired_link_changes_nothing(app, client, make_citizen):
    user = make_citizen()
    old = user.email
    sign_in(client, user)
    _ask(client)
    confirm_path = link_in(outbox(NEW)[-1], "/email/confirm/")
    db.session.execute(update(AccountToken).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)))
    db.session.commit()
    assert client.get(confirm_path).status_code == 404
    assert post_form(client, confirm_path, form_page="/account").status_code == 404
    db.session.refresh(user)
    assert user.email == old
    assert "waiting to be confirmed" not in visible_text(client.get("/account"))


def test_the_link_lasts_24_hours(app, client, make_citizen):
    user = make_citizen()
    sign_in(client, user)
    _ask(client)
    row = db.session.execute(select(AccountToken).where(AccountToken.purpose == TokenPurpose.EMAIL_CHANGE)).scalar_one()
    assert dt.timedelta(hours=23, minutes=59) < row.expires_at - row.created_at <= dt.timedelta(hours=24, seconds=5)
    assert "within 24 hours" in outbox(NEW)[-1].body_text


def test_cancelling_kills_the_link(app, client, make_citizen):
    user = make_citizen()
    old = user.email
    sign_in(client, user)
    _ask(client)
    confirm_path = link_in(outbox(NEW)[-1], "/email/confirm/")
    response = post_form(client, "/account/email/cancel", form_page="/account")
    assert response.headers["Location"] == "/account"
    page = visible_text(client.get("/account"))
    assert "has been cancelled" in page and "waiting to be confirmed" not in page
    assert app.test_client().get(confirm_path).status_code == 404
    db.session.refresh(user)
    assert user.email == old
    assert _actions("account.email_change_cancelled")[-1].after == {"email": NEW}


def test_asking_again_kills_the_first_link(app, client, make_citizen):
    user = make_citizen()
    sign_in(client, user)
    _ask(client)
    first = link_in(outbox(NEW)[-1], "/email/confirm/")
    _ask(client, email="newer@example.test")
    assert app.test_client().get(first).status_code == 404
    assert app.test_client().get(link_in(outbox("newer@example.test")[-1], "/email/confirm/")).status_code == 200


def test_an_address_another_account_took_meanwhile_fails_cleanly(app, client, make_citizen):
    user = make_citizen()
    old = user.email
    sign_in(client, user)
    _ask(client)
    confirm_path = link_in(outbox(NEW)[-1], "/email/confirm/")
    make_citizen(email=NEW)  # someone registers with it before the link is opened
    response = post_form(client, confirm_path)
    assert response.status_code == 409
    assert "Your email address has not changed" in visible_text(response)
    db.session.refresh(user)
    assert user.email == old
    assert client.get("/account").status_code == 200  # still signed in
    assert _actions("account.email_change_refused")[-1].after == {"email": NEW}
    assert app.test_client().get(confirm_path).status_code == 404  # the link is spent


def test_an_address_taken_at_the_same_instant_fails_cleanly(app, client, make_citizen, monkeypatch):
    from app.services.accounts import email_changes  # where confirming looks the address up

    user = make_citizen()
    old = user.email
    sign_in(client, user)
    _ask(client)
    confirm_path = link_in(outbox(NEW)[-1], "/email/confirm/")
    make_citizen(email=NEW)
    monkeypatch.setattr(email_changes, "user_by_email", lambda email: None)  # the check misses it: the database refuses
    response = post_form(client, confirm_path)
    assert response.status_code == 409
    db.session.refresh(user)
    assert user.email == old
    assert app.test_client().get(confirm_path).status_code == 404


def test_links_are_not_guessable_and_bad_ones_are_not_errors(client):
    for path in ("/email/confirm/x", "/email/confirm/" + "a" * 200, "/email/confirm/%00"):
        assert client.get(path).status_code == 404


def test_asking_for_email_changes_is_limited_per_account(app, make_citizen):
    """Each request emails the new address: five an hour, then a clear "too many" page; the
    limit counts only requests that sent a link, and other accounts are not affected."""
    limited_app = create_app(
        {
            **{k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "SEARCH_INDEX_DIR", "INSTANCE_PATH")},
            "RATELIMIT_ENABLED": True,
            "TESTING": True,
        }
    )
    user, other = make_citizen(), make_citizen()
    client = limited_app.test_client()
    sign_in(client, user)
    assert _ask(client, email="someone@example.test", password="not the password").status_code == 200  # not sent: not counted
    for i in range(5):
        assert _ask(client, email=f"victim{i}@example.test").status_code == 302
    refused = _ask(client, email="victim9@example.test")
    assert refused.status_code == 429 and "Too many attempts" in visible_text(refused)
    assert outbox("victim9@example.test") == []
    elsewhere = limited_app.test_client()
    sign_in(elsewhere, other)
    assert _ask(elsewhere, email="mine@example.test").status_code == 302
