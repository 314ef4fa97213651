"""Accounts as a person uses them: register, sign in and out, reset a forgotten password,
change it, and the server ending sign-ins."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from app.extensions import db
from app.models import AccountToken, AuditEvent, CitizenFunding, Role, User, UserSession
from app.services import passwords
from tests.factories import DEFAULT_PASSWORD
from tests.helpers import csrf_from, h1, link_in, outbox, post_form, sign_in, title, visible_text


def _register(client, **data):
    fields = {"name": "Jo Bloggs", "email": "jo@example.test", "citizen_funding": "self_funder", "password": "a quiet river at dawn"}
    fields.update(data)
    return post_form(client, "/register", fields)


def test_register_creates_a_citizen_signed_in_with_an_argon2id_hash(client):
    response = _register(client, email=" Jo@Example.TEST ")
    # Citizens land on their care overview.
    assert response.status_code == 302 and response.headers["Location"] == "/my-care"
    user = db.session.execute(select(User).where(User.email == "jo@example.test")).scalar_one()
    assert user.role is Role.CITIZEN and user.citizen_funding is CitizenFunding.SELF_FUNDER
    assert user.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    page = client.get("/my-care")
    assert h1(page) == "Your care" and "Your account has been created." in visible_text(page)
    assert db.session.execute(select(AuditEvent).where(AuditEvent.action == "account.registered")).scalar_one().actor_id == user.id


def test_register_explains_each_problem_with_a_gov_uk_error_summary(client, make_user):
    make_user(email="taken@example.test")
    response = _register(client, name="", email="taken@example.test", password="password1")
    assert response.status_code == 200
    assert title(response).startswith("Error: ")
    text = visible_text(response)
    assert "There is a problem" in text
    assert "Enter your full name" in text
    response = _register(client, email="taken@example.test", password="short")
    assert "An account already exists with this email address" in visible_text(response)
    assert "at least 8 characters" in visible_text(response)
    response = _register(client, email="new@example.test", password="password123")
    assert "too common" in visible_text(response)
    response = _register(client, email="not-an-email")
    assert "Enter an email address in the correct format" in visible_text(response)


def test_password_rules_follow_ncsc():
    assert passwords.password_problem("short") == passwords.TOO_SHORT
    assert passwords.password_problem("qwertyuiop") == passwords.TOO_COMMON
    assert passwords.password_problem("Password1") == passwords.TOO_COMMON  # case does not help
    assert passwords.password_problem("me@example.test", email="me@example.test") == passwords.SAME_AS_EMAIL
    assert passwords.password_problem("x" * 300) == passwords.TOO_LONG
    assert passwords.password_problem("blue tractor seventeen") is None  # no composition rules
    hashed = passwords.hash_password("blue tractor seventeen")
    assert passwords.verify_password(hashed, "blue tractor seventeen")
    assert not passwords.verify_password(hashed, "blue tractor seventeem")
    assert not passwords.verify_password(None, "anything")


def test_old_password_hashes_are_upgraded_at_sign_in(client, make_user):
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(DEFAULT_PASSWORD)
    user = make_user(password_hash=weak)
    sign_in(client, user)
    db.session.refresh(user)
    assert "m=19456,t=2,p=1" in user.password_hash


def test_sign_in_and_out(client, make_citizen):
    user = make_citizen()
    response = sign_in(client, user)
    assert response.headers["Location"] == "/my-care"
    page = client.get("/account")
    assert user.email in visible_text(page)
    assert "Sign out" in visible_text(page)
    response = post_form(client, "/sign-out", form_page="/account")
    assert response.headers["Location"] == "/sign-in"
    assert client.get("/account").status_code == 302


def test_a_wrong_password_says_nothing_about_which_part_was_wrong(client, make_citizen):
    user = make_citizen()
    wrong_password = post_form(client, "/sign-in", {"email": user.email, "password": "not the password"})
    no_account = post_form(client, "/sign-in", {"email": "nobody@example.test", "password": "not the password"})
    for response in (wrong_password, no_account):
        assert response.status_code == 200
        assert "Enter the correct email address and password" in visible_text(response)
        assert title(response).startswith("Error: ")


def test_sign_in_returns_to_the_page_asked_for_but_never_elsewhere(client, make_citizen):
    user = make_citizen()
    response = client.get("/account/sessions")
    assert response.headers["Location"] == "/sign-in?next=/account/sessions"
    page = client.get("/sign-in?next=/account/sessions")
    response = client.post(
        "/sign-in?next=/account/sessions", data={"csrf_token": csrf_from(page), "email": user.email, "password": DEFAULT_PASSWORD}
    )
    assert response.headers["Location"] == "/account/sessions"

    other = client.application.test_client()
    page = other.get("/sign-in?next=https://evil.example/")
    response = other.post(
        "/sign-in?next=https://evil.example/", data={"csrf_token": csrf_from(page), "email": user.email, "password": DEFAULT_PASSWORD}
    )
    assert response.headers["Location"] == "/my-care"
    # Signed in, a line break in next= (a header that would end early) is refused, not a 500.
    for target in ("/account%0d%0aSet-Cookie:%20x=y", "/account%0aX", "/account%09x"):
        answer = client.get(f"/sign-in?next={target}")
        assert answer.status_code == 302 and answer.headers["Location"] == "/my-care", target


def test_signing_out_ends_the_session_on_the_server_so_a_copied_cookie_is_dead(app, client, make_citizen):
    user = make_citizen()
    sign_in(client, user)
    stolen = client.get_cookie("session").value
    post_form(client, "/sign-out", form_page="/account")
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/account").status_code == 302  # sent to sign in


def test_changing_the_password_signs_out_other_devices_but_not_this_one(app, make_citizen):
    user = make_citizen()
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, user)
    sign_in(phone, user)
    response = post_form(laptop, "/account/password", {"current_password": DEFAULT_PASSWORD, "new_password": "seven lighthouses humming"})
    assert response.headers["Location"] == "/account"
    page = laptop.get("/account")
    assert page.status_code == 200
    assert "signed out on 1 other device" in visible_text(page)
    assert phone.get("/account").status_code == 302
    assert outbox(user.email)[-1].subject == "Your password has been changed"
    sign_in(app.test_client(), user, "seven lighthouses humming")


def test_change_password_checks_the_current_one_and_the_rules(client, make_citizen):
    user = make_citizen()
    sign_in(client, user)
    response = post_form(client, "/account/password", {"current_password": "wrong", "new_password": "seven lighthouses humming"})
    assert "Your current password is not right" in visible_text(response)
    response = post_form(client, "/account/password", {"current_password": DEFAULT_PASSWORD, "new_password": "iloveyou1"})
    assert "too common" in visible_text(response)


def test_sign_out_everywhere_else(app, make_citizen):
    user = make_citizen()
    a, b, c = app.test_client(), app.test_client(), app.test_client()
    for client in (a, b, c):
        sign_in(client, user)
    page = a.get("/account/sessions")
    assert "(this device)" in visible_text(page)
    post_form(a, "/account/sessions/sign-out-others", form_page="/account/sessions")
    assert a.get("/account").status_code == 200
    assert b.get("/account").status_code == 302 and c.get("/account").status_code == 302
    assert db.session.execute(select(AuditEvent).where(AuditEvent.action == "account.signed_out_everywhere")).scalar_one()


def test_an_idle_session_times_out(app, client, make_citizen):
    user = make_citizen()
    sign_in(client, user)
    row = db.session.execute(select(UserSession).where(UserSession.user_id == user.id)).scalar_one()
    row.last_seen_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] + 1)
    db.session.commit()
    assert client.get("/account").status_code == 302
    db.session.refresh(row)
    assert row.end_reason == "timed out"


def test_a_deactivated_account_is_signed_out_and_cannot_sign_in(app, client, make_citizen, make_admin):
    user, admin = make_citizen(), make_admin()
    sign_in(client, user)
    admin_client = app.test_client()
    sign_in(admin_client, admin)
    post_form(admin_client, f"/admin/users/{user.id}/deactivate", {"reason": "Asked us to close it"})
    assert client.get("/account").status_code == 302
    response = post_form(app.test_client(), "/sign-in", {"email": user.email, "password": DEFAULT_PASSWORD})
    assert "This account has been deactivated" in visible_text(response)


def test_forgotten_password_by_email_link_single_use(app, client, make_citizen):
    user = make_citizen()
    other_device = app.test_client()
    sign_in(other_device, user)
    response = post_form(client, "/password/forgot", {"email": user.email.upper()})
    assert h1(response) == "Check your email"
    email = outbox(user.email)[-1]
    assert email.subject == "Reset your password"
    path = link_in(email, "/password/reset/")
    page = client.get(path)
    assert h1(page) == "Choose a new password"
    response = post_form(client, path, {"password": "the owl sings at noon"})
    assert response.headers["Location"] == "/sign-in"
    assert other_device.get("/account").status_code == 302  # every sign-in ended
    sign_in(app.test_client(), user, "the owl sings at noon")
    again = client.get(path)
    assert again.status_code == 404 and "This link has expired or has already been used" in visible_text(again)


def test_reset_links_expire_and_a_newer_link_replaces_an_older_one(client, make_citizen):
    user = make_citizen()
    post_form(client, "/password/forgot", {"email": user.email})
    first = link_in(outbox(user.email)[-1], "/password/reset/")
    post_form(client, "/password/forgot", {"email": user.email})
    second = link_in(outbox(user.email)[-1], "/password/reset/")
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200
    token = db.session.execute(select(AccountToken).where(AccountToken.used_at.is_(None))).scalar_one()
    token.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    db.session.commit()
    assert client.get(second).status_code == 404


def test_forgotten_password_for_an_unknown_email_looks_the_same_and_sends_nothing(client):
    response = post_form(client, "/password/forgot", {"email": "nobody@example.test"})
    assert h1(response) == "Check your email"
    assert outbox("nobody@example.test") == []


def test_secure_cookies_in_production(monkeypatch, tmp_path):
    from app import create_app

    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "s" * 48)
    monkeypatch.setenv("SMTP_HOST", "smtp.council.example")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://care.example.gov.uk")
    monkeypatch.setenv("RATELIMIT_ALLOW_MEMORY", "1")
    monkeypatch.setenv("TOTP_ENCRYPTION_KEY", "dGVzdHMtb25seS1wcm9kdWN0aW9uLXRvdHAta2V5LTE=")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'p.sqlite3'}")
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["SESSION_COOKIE_HTTPONLY"]
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["REMEMBER_COOKIE_SECURE"]


# -- Emailed links are on the service's own address ----------------------------

PUBLIC = "https://care.example.gov.uk"


def _forged_host_client(app, user=None):
    """A client whose every request says ``Host: evil.example`` (as an attacker's would)."""
    client = app.test_client()
    client.environ_base["HTTP_HOST"] = "evil.example"
    if user is not None:
        sign_in(client, user)
    return client


def _only_public_links(email):
    links = re.findall(r"https?://[^\s]+", email.body_text)
    assert links, email.body_text
    assert all(link.startswith(PUBLIC + "/") for link in links), links
    assert "evil.example" not in email.body_text


def test_a_password_reset_asked_for_with_a_forged_host_header_links_to_the_configured_address(app, make_citizen):
    app.config["PUBLIC_BASE_URL"] = PUBLIC
    user = make_citizen()
    response = post_form(_forged_host_client(app), "/password/forgot", {"email": user.email})
    assert h1(response) == "Check your email"
    email = outbox(user.email)[-1]
    assert f"{PUBLIC}/password/reset/" in email.body_text
    _only_public_links(email)


def test_every_emailed_invitation_and_set_up_link_ignores_the_host_header(
    app, make_citizen, make_provider, make_provider_staff, make_admin
):
    app.config["PUBLIC_BASE_URL"] = PUBLIC
    citizen = _forged_host_client(app, make_citizen())
    post_form(citizen, "/account/representatives/invite", {"email": "friend@example.test", "relationship": "friend"})
    owner = _forged_host_client(app, make_provider_staff(make_provider()))
    post_form(owner, "/provider/team/invite", {"email": "carer@example.test", "org_role": "staff"})
    admin = _forged_host_client(app, make_admin())
    post_form(admin, "/admin/users/new", {"name": "Cat Council", "email": "cat@council.test", "role": "commissioner"})
    for address, path in (
        ("friend@example.test", "/invitations/"),
        ("carer@example.test", "/invitations/"),
        ("cat@council.test", "/password/reset/"),
    ):
        [email] = outbox(address)
        assert f"{PUBLIC}{path}" in email.body_text
        _only_public_links(email)


# -- Changing your details ------------------------------------------------------


def _details(client, **data):
    return post_form(client, "/account/details", {"name": "Jo Bloggs", "citizen_funding": "self_funder", **data})


def test_changing_the_email_needs_the_current_password(client, make_citizen):
    user = make_citizen()
    sign_in(client, user)
    for password, message in (
        ("", "Enter your current password to change your email address"),
        ("a guess", "Your current password is not right"),
    ):
        response = _details(client, email="new@example.test", current_password=password)
        assert response.status_code == 200 and title(response).startswith("Error: ")
        assert message in visible_text(response)
    db.session.refresh(user)
    assert user.email != "new@example.test"
    assert db.session.execute(select(AuditEvent).where(AuditEvent.action == "account.email_changed")).first() is None
    # The name alone changes without it.
    response = _details(client, email=user.email)
    assert response.headers["Location"] == "/account"
    db.session.refresh(user)
    assert user.name == "Jo Bloggs"


def test_an_email_another_account_has_is_refused(client, make_citizen):
    user, other = make_citizen(), make_citizen()
    sign_in(client, user)
    response = _details(client, email=other.email, current_password=DEFAULT_PASSWORD)
    assert "Another account already uses this email address" in visible_text(response)


# -- Double submits racing for the same email -------------------------------------


def _lose_the_race_once(monkeypatch, email):
    """The first look-up of ``email`` misses it, as when another request inserts the same
    address between our check and our insert."""
    from app.services.accounts import identity  # where registration looks it up

    real = identity.user_by_email
    missed = []

    def racing(address):
        if address.strip().lower() == email and not missed:
            missed.append(address)
            return None
        return real(address)

    monkeypatch.setattr(identity, "user_by_email", racing)
    return missed


def test_a_registration_that_loses_a_race_for_its_email_is_a_form_error(client, make_citizen, monkeypatch):
    winner = make_citizen(email="twice@example.test")
    missed = _lose_the_race_once(monkeypatch, "twice@example.test")
    response = _register(client, email="twice@example.test")
    assert missed, "the race was not staged"
    assert response.status_code == 200
    assert "An account already exists with this email address" in visible_text(response)
    assert db.session.execute(select(User).where(User.email == "twice@example.test")).scalar_one().id == winner.id
