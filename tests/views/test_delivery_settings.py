"""The council's delivery and payment settings: how delivered visits are paid, and the
council's bank account for payment files, on the council settings page and in
``app.services.council``."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, CouncilSettings, PayBasis, Rounding
from app.services import council
from app.services.council import DeliveryRules
from app.services.errors import ValidationError
from tests.helpers import page, post_form, sign_in, squash, visible_text

SETTINGS = "/commissioner/settings"
ABOUT = {"name": "Peterborough City Council", "districts": "PE1", "cancellation_notice_hours": "24"}
VALID = {
    "pay_basis": "actual",
    "billing_increment_minutes": "15",
    "rounding": "down",
    "tolerance_minutes": "5",
    "confirm_days": "14",
    "payment_run_weeks": "2",
    "bank_sort_code": "30 94 57",
    "bank_account_number": "733445",
    "bacs_user_number": "123456",
}


def _audits():
    query = select(AuditEvent).where(AuditEvent.action == "council.settings_changed").order_by(AuditEvent.id)
    return db.session.execute(query).scalars().all()


def _error_summary(response) -> str:
    summary = page(response).select_one(".govuk-error-summary")
    return squash(summary.get_text(" ")) if summary else ""


def _checked(response, name: str) -> str | None:
    chosen = page(response).select_one(f'input[name="{name}"][checked]')
    return chosen.get("value") if chosen else None


def _value(response, name: str) -> str | None:
    return page(response).select_one(f'input[name="{name}"]').get("value")


def _save(actor, **settings):
    about = {"name": "Peterborough City Council", "contact_email": "", "contact_phone": "", "address": "", "website": ""}
    return council.update(actor, **about, districts_text="PE1", **settings)


@pytest.fixture
def commissioner_client(client, make_commissioner, make_district):
    make_district("PE1")
    sign_in(client, make_commissioner())
    return client


# -- Before anything is saved ---------------------------------------------------------------


def test_the_defaults_apply_until_the_council_saves_its_settings(app, commissioner_client):
    assert db.session.get(CouncilSettings, 1) is None
    settings = council.current()
    assert (settings.pay_basis, settings.billing_increment_minutes, settings.rounding) == (PayBasis.LESSER, 5, Rounding.NEAREST)
    assert (settings.tolerance_minutes, settings.confirm_days, settings.payment_run_weeks) == (10, 7, 4)
    assert (settings.bank_sort_code, settings.bank_account_number, settings.bacs_user_number) == ("", "", "")
    assert council.delivery_rules() == DeliveryRules(PayBasis.LESSER, 5, Rounding.NEAREST, 10, 7)
    assert council.payment_schedule_weeks() == 4

    form = commissioner_client.get(SETTINGS)
    text = visible_text(form)
    assert "Paying for delivered visits" in text and "The council's bank account for payment files" in text
    assert "about 17.5%" in text
    assert [_checked(form, n) for n in ("pay_basis", "billing_increment_minutes", "rounding", "payment_run_weeks")] == [
        "lesser",
        "5",
        "nearest",
        "4",
    ]
    assert [_value(form, n) for n in ("tolerance_minutes", "confirm_days")] == ["10", "7"]
    assert [_value(form, n) or "" for n in ("bank_sort_code", "bank_account_number", "bacs_user_number")] == ["", "", ""]


# -- Saving ---------------------------------------------------------------------------------


def test_a_commissioner_saves_the_settings_and_sees_them_again(app, commissioner_client):
    response = post_form(commissioner_client, SETTINGS, {**ABOUT, **VALID})
    assert response.status_code == 302

    db.session.expire_all()
    assert council.delivery_rules() == DeliveryRules(PayBasis.ACTUAL, 15, Rounding.DOWN, 5, 14)
    assert council.payment_schedule_weeks() == 2
    saved = council.current()
    assert (saved.bank_sort_code, saved.bank_account_number, saved.bacs_user_number) == ("309457", "00733445", "123456")

    form = commissioner_client.get(SETTINGS)
    assert "The council's settings have been saved." in visible_text(form)
    assert [_checked(form, n) for n in ("pay_basis", "billing_increment_minutes", "rounding", "payment_run_weeks")] == [
        "actual",
        "15",
        "down",
        "2",
    ]
    assert [_value(form, n) for n in ("tolerance_minutes", "confirm_days")] == ["5", "14"]
    assert [_value(form, n) for n in ("bank_sort_code", "bank_account_number", "bacs_user_number")] == ["30-94-57", "00733445", "123456"]


def test_the_change_is_audited_with_only_the_last_four_digits_of_the_account(app, commissioner_client, make_commissioner):
    post_form(commissioner_client, SETTINGS, {**ABOUT, **VALID})
    first = _audits()[-1]
    assert first.before["pay_basis"] == "lesser" and first.after["pay_basis"] == "actual"
    assert (first.before["tolerance_minutes"], first.after["tolerance_minutes"]) == (10, 5)
    assert (first.before["bank_sort_code"], first.after["bank_sort_code"]) == ("", "309457")
    assert first.after["bank_account_number"] == "ending 3445"

    # A new account that ends in the same digits is still recorded as a change.
    _save(make_commissioner(), bank_account_number="99993445")
    second = _audits()[-1]
    assert second.before == {"bank_account_number": "ending 3445"} and second.after == {"bank_account_number": "ending 3445"}
    recorded = json.dumps([e.before for e in _audits()] + [e.after for e in _audits()])
    assert "733445" not in recorded and "99993445" not in recorded

    trail = visible_text(commissioner_client.get("/commissioner/audit?action=council.settings_changed"))
    assert "ending 3445" in trail and "99993445" not in trail


def test_settings_left_out_stay_as_they_are_and_empty_bank_details_clear_them(app, commissioner_client, make_commissioner):
    actor = make_commissioner()
    _save(actor, pay_basis=PayBasis.PLANNED, tolerance_minutes=0, bank_sort_code="309457", bank_account_number="00733445")
    _save(actor)  # an older caller that knows nothing of these settings
    post_form(commissioner_client, SETTINGS, ABOUT)  # a form without them
    db.session.expire_all()
    kept = council.current()
    assert (kept.pay_basis, kept.tolerance_minutes, kept.bank_account_number) == (PayBasis.PLANNED, 0, "00733445")

    _save(actor, bank_sort_code="", bank_account_number="")
    assert (council.current().bank_sort_code, council.current().bank_account_number) == ("", "")


# -- Refused --------------------------------------------------------------------------------

REFUSED = [
    ("pay_basis", "cheapest", "Choose what visits are paid on"),
    ("billing_increment_minutes", "10", "Choose a billing increment of 1, 5 or 15 minutes"),
    ("rounding", "sideways", "Choose whether to round up, round to the nearest or round down"),
    ("tolerance_minutes", "121", "Enter the tolerance as a whole number of minutes from 0 to 120"),
    ("tolerance_minutes", "-1", "Enter the tolerance as a whole number of minutes from 0 to 120"),
    ("tolerance_minutes", "", "Enter the tolerance in minutes, from 0 to 120"),
    ("confirm_days", "0", "Enter the days to confirm a visit as a whole number from 1 to 28"),
    ("confirm_days", "a week", "Enter the days to confirm a visit as a whole number from 1 to 28"),
    ("payment_run_weeks", "3", "Choose a payment run every 1, 2 or 4 weeks"),
    ("bank_sort_code", "30-94-5", "Enter a sort code like 30-94-57"),
    ("bank_account_number", "12345", "Enter an 8-digit account number"),
    ("bank_account_number", "1234 567a", "Enter an 8-digit account number"),
    ("bacs_user_number", "12345X", "Enter the Bacs service user number: 6 digits, like 123456"),
]


def test_each_invalid_value_is_refused_with_its_message_and_nothing_is_saved(app, commissioner_client):
    for field, value, message in REFUSED:
        response = post_form(commissioner_client, SETTINGS, {**ABOUT, **VALID, field: value})
        assert response.status_code == 200, (field, value)
        assert message in _error_summary(response), (field, value)
        assert page(response).select_one(f'a[href="#{field}"]') is not None, (field, value)
        assert page(response).select_one(f"#{field}") is not None, (field, value)
    db.session.expire_all()
    assert db.session.get(CouncilSettings, 1) is None and _audits() == []


def test_the_service_refuses_bad_values_all_at_once_and_a_half_entered_bank_account(app, make_commissioner, make_district):
    make_district("PE1")
    actor = make_commissioner()
    with pytest.raises(ValidationError) as refused:
        _save(actor, billing_increment_minutes=True, tolerance_minutes=2**40, confirm_days="7", payment_run_weeks=0, rounding=3)
    assert set(refused.value.errors) == {"billing_increment_minutes", "tolerance_minutes", "confirm_days", "payment_run_weeks", "rounding"}
    with pytest.raises(ValidationError) as half:
        _save(actor, bank_sort_code="30-94-57", bank_account_number="")
    assert half.value.errors == {"bank_account_number": "Enter the account number that goes with the sort code"}
    assert db.session.get(CouncilSettings, 1) is None


def test_hostile_input_never_gives_an_error_page(app, commissioner_client):
    hostile = [
        ("tolerance_minutes", "9" * 5000),
        ("confirm_days", "99999999999999999999999"),
        ("billing_increment_minutes", "x" * 10_000),
        ("pay_basis", "lesser\x00"),
        ("bank_sort_code", "３０９４５７"),  # full-width digits
        ("bank_account_number", "-1"),
    ]
    for field, value in hostile:
        response = post_form(commissioner_client, SETTINGS, {**ABOUT, **VALID, field: value})
        assert response.status_code in (200, 400), (field, value[:20], response.status_code)
        if response.status_code == 200:
            assert _error_summary(response), (field, value[:20])
    db.session.expire_all()
    assert db.session.get(CouncilSettings, 1) is None
