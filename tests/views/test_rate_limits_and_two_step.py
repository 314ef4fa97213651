"""Sign-in is rate-limited per account and per address (only failures count), bursts of
failures reach the audit trail, and two-step verification works end to end."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models import AuditEvent, Role
from app.services import two_step
from app.services.errors import Conflict
from tests.factories import DEFAULT_PASSWORD
from tests.helpers import csrf_from, h1, link_in, next_code, outbox, page, post_form, sign_in, visible_text


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
    # The limiter is shared: the next app created switches it back off.


def _fail(client, email, address="127.0.0.1"):
    client.environ_base["REMOTE_ADDR"] = address
    token = csrf_from(client.get("/sign-in"))
    return client.post("/sign-in", data={"csrf_token": token, "email": email, "password": "not the password"})


def _sign_in_from(client, user, address):
    client.environ_base["REMOTE_ADDR"] = address
    token = csrf_from(client.get("/sign-in"))
    return client.post("/sign-in", data={"csrf_token": token, "email": user.email, "password": DEFAULT_PASSWORD})


def test_ten_wrong_passwords_lock_out_only_that_address_not_the_owner(app, limited_client, make_citizen):
    user = make_citizen()
    for _ in range(10):
        assert _fail(limited_client, user.email).status_code == 200
    response = _fail(limited_client, user.email)
    assert response.status_code == 429
    assert h1(response) == "Too many attempts"
    assert "Wait a few minutes and try again" in visible_text(response)
    assert response.headers.get("Retry-After")
    # From that address even the right password waits now: the guesser gets no further.
    assert _sign_in_from(limited_client, user, "127.0.0.1").status_code == 429
    # Another account from the same address is not affected.
    assert _fail(limited_client, "someone-else@example.test").status_code == 200
    # The owner, at home, signs in as usual: the guesser cannot lock them out.
    owner = limited_client.application.test_client()
    assert _sign_in_from(owner, user, "192.0.2.7").status_code == 302


def test_failed_sign_ins_from_one_address_are_limited_across_accounts(limited_client):
    """A spray of guesses at many accounts from one address stops at 100, room enough for a
    busy office's mistyped passwords."""
    statuses = [_fail(limited_client, f"person{n}@example.test").status_code for n in range(101)]
    assert statuses[:100] == [200] * 100 and statuses[100] == 429


def test_guesses_at_one_account_from_everywhere_pause_it_and_email_its_owner_a_way_in(app, limited_client, make_citizen):
    user = make_citizen()
    for n in range(50):  # five guesses from each of ten addresses: none of them is stopped on its own
        assert _fail(limited_client, user.email, f"198.51.100.{n // 5}").status_code == 200
    paused = _fail(limited_client, user.email, "203.0.113.1")
    assert paused.status_code == 429 and "we have paused signing in to it" in visible_text(paused)
    stranger = limited_client.application.test_client()
    assert _sign_in_from(stranger, user, "203.0.113.2").status_code == 429  # the right password too, from anywhere
    db.session.rollback()  # see what the other app committed (SQLite keeps a read snapshot)
    [email] = [e for e in outbox(user.email) if e.subject == "Sign in to your account"]  # once, however often it is tried
    link = link_in(email, "/sign-in/unlock/")
    owner = limited_client.application.test_client()
    owner.environ_base["REMOTE_ADDR"] = "192.0.2.8"
    assert "You can sign in from this browser now" in visible_text(owner.get(link, follow_redirects=True))
    assert _sign_in_from(owner, user, "192.0.2.8").status_code == 302  # the owner is let in
    assert _sign_in_from(stranger, user, "203.0.113.2").status_code == 429  # nobody else is
    assert owner.get("/sign-in/unlock/forged-link").status_code == 404
    events = db.session.execute(select(AuditEvent).where(AuditEvent.action == "sign_in.unlock_link_sent")).scalars().all()
    assert len(events) == 1 and events[0].target_id == str(user.id)


def test_successful_sign_ins_do_not_count(limited_client, make_citizen):
    user = make_citizen()
    for _ in range(12):
        sign_in(limited_client, user)
        post_form(limited_client, "/sign-out", form_page="/account")


def test_a_burst_of_failures_is_audited_once(client, make_citizen):
    user = make_citizen()
    for _ in range(7):
        _fail(client, user.email)
    events = db.session.execute(select(AuditEvent).where(AuditEvent.action == "sign_in.failure_burst")).scalars().all()
    assert len(events) == 1
    assert events[0].target_type == "user" and events[0].target_id == str(user.id)
    assert "5 failed sign-ins" in events[0].note


def _enable_two_step(client, user):
    sign_in(client, user)
    setup = client.get("/account/two-step")
    assert h1(setup) == "Set up two-step verification"
    assert page(setup).find("img", class_="app-qr-code")["src"].startswith("data:image/svg+xml")
    secret = "".join(page(setup).find("strong", string=lambda s: s and len(s.replace(" ", "")) == 32).get_text().split())
    import pyotp

    wrong = client.post("/account/two-step", data={"csrf_token": csrf_from(setup), "code": "000000"})
    assert "The code is not right" in visible_text(wrong)
    response = client.post("/account/two-step", data={"csrf_token": csrf_from(setup), "code": pyotp.TOTP(secret).now()})
    assert h1(response) == "Save your recovery codes"
    codes = [li.get_text().strip() for li in page(response).select(".app-recovery-codes li")]
    assert len(codes) == 10
    db.session.refresh(user)
    assert user.two_step_enabled
    return codes


def test_two_step_sign_in_with_an_app_code_and_with_recovery_codes(app, make_citizen):
    user = make_citizen()
    codes = _enable_two_step(app.test_client(), user)

    client = app.test_client()
    response = post_form(client, "/sign-in", {"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.headers["Location"] == "/sign-in/two-step"
    assert client.get("/account").status_code == 302  # not signed in before the code
    form = client.get("/sign-in/two-step")
    assert "Error" not in h1(form)
    bad = client.post("/sign-in/two-step", data={"csrf_token": csrf_from(form), "code": "123456"})
    assert "The code is not right" in visible_text(bad)
    code = next_code(user)
    ok = client.post("/sign-in/two-step", data={"csrf_token": csrf_from(form), "code": code})
    assert ok.status_code == 302 and client.get("/account").status_code == 200

    # The same code never works twice.
    replay = app.test_client()
    post_form(replay, "/sign-in", {"email": user.email, "password": DEFAULT_PASSWORD})
    form = replay.get("/sign-in/two-step")
    assert "The code is not right" in visible_text(replay.post("/sign-in/two-step", data={"csrf_token": csrf_from(form), "code": code}))

    # A recovery code works once.
    recovery = app.test_client()
    post_form(recovery, "/sign-in", {"email": user.email, "password": DEFAULT_PASSWORD})
    form = recovery.get("/sign-in/two-step")
    assert recovery.post("/sign-in/two-step", data={"csrf_token": csrf_from(form), "code": codes[0]}).status_code == 302
    assert "You used a recovery code. You have 9 left" in visible_text(recovery.get("/account"))
    again = app.test_client()
    post_form(again, "/sign-in", {"email": user.email, "password": DEFAULT_PASSWORD})
    form = again.get("/sign-in/two-step")
    assert "The code is not right" in visible_text(again.post("/sign-in/two-step", data={"csrf_token": csrf_from(form), "code": codes[0]}))
    assert db.session.execute(select(AuditEvent).where(AuditEvent.action == "account.recovery_code_used")).scalar_one()


def test_two_step_can_be_turned_off_by_a_citizen_with_password_and_code(app, make_citizen):
    user = make_citizen()
    client = app.test_client()
    _enable_two_step(client, user)
    response = post_form(client, "/account/two-step/turn-off", {"password": DEFAULT_PASSWORD, "code": next_code(user)})
    assert response.headers["Location"] == "/account"
    db.session.refresh(user)
    assert not user.two_step_enabled


@pytest.fixture
def production_like(app):
    app.config["DEMO_MODE"] = False
    yield app
    app.config["DEMO_MODE"] = True


def test_commissioners_must_set_up_two_step_outside_demo_mode(production_like, make_user):
    for role in (Role.COMMISSIONER, Role.ADMIN):
        user = make_user(role)
        client = production_like.test_client()
        response = sign_in(client, user)
        assert response.headers["Location"] == "/account/two-step"
        for path in ("/commissioner", "/account", "/"):
            assert client.get(path).headers.get("Location") == "/account/two-step", path
        assert "Council accounts must use two-step verification" in visible_text(client.get("/account/two-step"))
        with pytest.raises(Conflict, match="must keep two-step verification on"):
            two_step.disable(user, password=DEFAULT_PASSWORD, code="000000", demo_mode=False)


def test_citizens_do_not_have_to_use_two_step(production_like, make_citizen):
    client = production_like.test_client()
    sign_in(client, make_citizen())
    assert client.get("/account").status_code == 200


# -- Codes typed in other scripts ---------------------------------------------

FULLWIDTH = "１２３４５６"  # str.isdigit() says yes; compare_digest() raises TypeError on it
NOT_ASCII = [FULLWIDTH, "١٢٣٤٥٦", "ａｂｃｄｅ-ｆｇｈｊｋ", "abcdé-fghjk"]


@pytest.mark.parametrize("code", NOT_ASCII)
def test_every_two_step_entry_point_says_the_code_is_wrong_for_non_ascii_characters(app, make_citizen, code):
    user = make_citizen()
    client = app.test_client()
    _enable_two_step(client, user)

    # Signing in.
    signing_in = app.test_client()
    post_form(signing_in, "/sign-in", {"email": user.email, "password": DEFAULT_PASSWORD})
    response = post_form(signing_in, "/sign-in/two-step", {"code": code})
    assert response.status_code == 200 and "The code is not right" in visible_text(response)
    assert signing_in.get("/account").status_code == 302  # still not signed in

    # Turning it off, and getting new recovery codes.
    response = post_form(client, "/account/two-step/turn-off", {"password": DEFAULT_PASSWORD, "code": code})
    assert response.status_code == 200 and "The code is not right" in visible_text(response)
    response = post_form(client, "/account/two-step/recovery-codes", {"code": code}, form_page="/account/two-step")
    assert response.status_code == 200 and "The code is not right" in visible_text(response)
    db.session.refresh(user)
    assert user.two_step_enabled and two_step.recovery_codes_left(user) == 10

    # Setting it up.
    newcomer = app.test_client()
    sign_in(newcomer, make_citizen())
    response = post_form(newcomer, "/account/two-step", {"code": code})
    assert response.status_code == 200 and "The code is not right" in visible_text(response)


def test_the_service_refuses_non_ascii_codes_without_an_error(app, make_citizen):
    user = make_citizen()
    secret = two_step.new_secret()
    with pytest.raises(two_step.ValidationError):
        two_step.enable(user, secret, FULLWIDTH)
    codes = two_step.enable(user, secret, two_step.current_code(secret))
    fullwidth_recovery = codes[0].translate({ord(c): ord(c) + 0xFEE0 for c in "abcdefghijklmnopqrstuvwxyz0123456789"})
    assert two_step.verify(user, fullwidth_recovery) is None
    assert two_step.verify(user, codes[0]) == "recovery"


# -- Rate limits on pages that check a signed-in person's password or code ------------------------


def _signed_in_limited(limited_client, user):
    sign_in(limited_client, user)
    return limited_client


def test_wrong_current_passwords_on_change_password_are_limited(limited_client, make_citizen):
    user = make_citizen()
    client = _signed_in_limited(limited_client, user)
    for _ in range(10):
        response = post_form(client, "/account/password", {"current_password": "a guess", "new_password": "seven lighthouses humming"})
        assert response.status_code == 200 and "Your current password is not right" in visible_text(response)
    response = post_form(client, "/account/password", {"current_password": DEFAULT_PASSWORD, "new_password": "seven lighthouses humming"})
    assert response.status_code == 429 and h1(response) == "Too many attempts"
    from app.services.passwords import verify_password

    db.session.rollback()
    db.session.refresh(user)
    assert verify_password(user.password_hash, DEFAULT_PASSWORD)  # not changed


def test_a_too_common_new_password_is_not_counted_as_a_guess(limited_client, make_citizen):
    client = _signed_in_limited(limited_client, make_citizen())
    for _ in range(12):
        response = post_form(client, "/account/password", {"current_password": DEFAULT_PASSWORD, "new_password": "password123"})
        assert response.status_code == 200 and "too common" in visible_text(response)


def test_wrong_codes_on_turning_two_step_off_and_new_recovery_codes_are_limited_together(limited_client, make_citizen):
    user = make_citizen()
    secret = two_step.new_secret()
    two_step.enable(user, secret, two_step.current_code(secret))
    client = _signed_in_limited(limited_client, user)  # answers the two-step question
    for _ in range(5):
        response = post_form(client, "/account/two-step/turn-off", {"password": DEFAULT_PASSWORD, "code": "000000"})
        assert response.status_code == 200 and "The code is not right" in visible_text(response)
        response = post_form(client, "/account/two-step/recovery-codes", {"code": "000000"}, form_page="/account/two-step")
        assert response.status_code == 200 and "The code is not right" in visible_text(response)
    assert post_form(client, "/account/two-step/turn-off", {"password": DEFAULT_PASSWORD, "code": next_code(user)}).status_code == 429
    assert (
        post_form(client, "/account/two-step/recovery-codes", {"code": next_code(user)}, form_page="/account/two-step").status_code == 429
    )
    db.session.rollback()  # the other app's commits are seen in a new transaction
    db.session.refresh(user)
    assert user.two_step_enabled


def test_wrong_passwords_when_changing_the_email_are_limited_too(limited_client, make_citizen):
    user = make_citizen()
    client = _signed_in_limited(limited_client, user)
    data = {"name": user.name, "citizen_funding": "self_funder", "email": "new@example.test"}
    for _ in range(10):
        response = post_form(client, "/account/details", {**data, "current_password": "a guess"})
        assert response.status_code == 200 and "Your current password is not right" in visible_text(response)
    assert post_form(client, "/account/details", {**data, "current_password": DEFAULT_PASSWORD}).status_code == 429


def test_a_burst_of_failures_from_one_address_across_accounts_is_audited_once(client, make_citizen):
    someone = make_citizen()
    for n in range(19):
        _fail(client, f"person{n}@example.test")
    assert db.session.execute(select(AuditEvent).where(AuditEvent.action == "sign_in.failure_burst_address")).first() is None
    for n in range(19, 26):
        _fail(client, someone.email if n == 19 else f"person{n}@example.test")
    [event] = db.session.execute(select(AuditEvent).where(AuditEvent.action == "sign_in.failure_burst_address")).scalars().all()
    assert (event.target_type, event.target_id, event.ip_address, event.actor_id) == ("address", "127.0.0.1", "127.0.0.1", None)
    assert event.note == "20 failed sign-ins from 127.0.0.1 within 15 minutes"
    # No single account reached its own burst.
    assert db.session.execute(select(AuditEvent).where(AuditEvent.action == "sign_in.failure_burst")).first() is None
