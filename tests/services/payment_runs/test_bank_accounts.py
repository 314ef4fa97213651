"""Providers' bank details: only an owner, with their password, submits new ones; a
commissioner confirms them before any run pays them; every step is audited with the account
masked and every owner is told."""

from __future__ import annotations

import json
import threading
import time

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, BankAccountStatus, Notification, OrgRole, Provider, ProviderBankAccount, User
from app.services import team
from app.services.errors import Conflict, InvalidTransition, NotFound, ValidationError
from app.services.payment_runs import bank_accounts
from tests.factories import DEFAULT_PASSWORD
from tests.helpers import at_once, outbox

DETAILS = {"account_name": "Alpha Care Ltd", "sort_code": "30-94-30", "account_number": "00733445"}


@pytest.fixture
def provider(make_provider):
    return make_provider(name="Alpha Care")


@pytest.fixture
def owner(make_provider_staff, provider):
    return make_provider_staff(provider, OrgRole.OWNER, name="Olive Owner")


@pytest.fixture
def commissioner(make_commissioner):
    return make_commissioner(name="Cara Commissioner")


def submit(provider, by, password=DEFAULT_PASSWORD, **details):
    return bank_accounts.submit_change(provider, by=by, password=password, **{**DETAILS, **details})


def accounts_of(provider) -> list[ProviderBankAccount]:
    db.session.expire_all()
    return list(
        db.session.execute(
            select(ProviderBankAccount).where(ProviderBankAccount.provider_id == provider.id).order_by(ProviderBankAccount.id)
        ).scalars()
    )


def count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


# -- Submitting ---------------------------------------------------------------------------


def test_the_first_bank_details_wait_for_the_council_like_any_change(provider, owner):
    change = submit(provider, owner, sort_code="30 94 30", account_number="733445")
    assert change.status is BankAccountStatus.PENDING
    assert (change.sort_code, change.account_number, change.account_name) == ("309430", "00733445", "Alpha Care Ltd")
    assert change.submitted_by_id == owner.id
    assert bank_accounts.pending_account(provider) == change
    assert bank_accounts.confirmed_account(provider) is None
    assert bank_accounts.pending_confirmations() == [change]


@pytest.mark.parametrize("role", [OrgRole.MANAGER, OrgRole.STAFF])
def test_only_an_owner_can_change_bank_details(provider, make_provider_staff, role):
    member = make_provider_staff(provider, role)
    with pytest.raises(team.NotAllowed, match="Only an owner"):
        submit(provider, member)
    assert accounts_of(provider) == []
    assert not bank_accounts.may_change(member, provider)


def test_someone_from_another_provider_cannot_reach_this_ones_bank_details(provider, make_provider, make_provider_staff):
    outsider = make_provider_staff(make_provider(name="Other Care"), OrgRole.OWNER)
    with pytest.raises(NotFound):
        submit(provider, outsider)
    assert accounts_of(provider) == []


def test_a_wrong_password_is_refused_and_nothing_is_saved_or_sent(provider, owner):
    with pytest.raises(ValidationError) as caught:
        submit(provider, owner, password="not my password")
    assert caught.value.errors == {"password": "Your password is not right"}
    assert accounts_of(provider) == []
    assert count(AuditEvent) == 0
    assert outbox() == []


@pytest.mark.parametrize(
    ("details", "field", "message"),
    [
        ({"sort_code": ""}, "sort_code", "Enter a sort code"),
        ({"sort_code": "30943"}, "sort_code", "Enter a valid sort code, like 309430"),
        ({"sort_code": "30-94 30"}, "sort_code", "Enter a valid sort code, like 309430"),
        ({"sort_code": "AB-CD-EF"}, "sort_code", "Enter a valid sort code, like 309430"),
        ({"account_number": ""}, "account_number", "Enter an account number"),
        ({"account_number": "12345"}, "account_number", "must be between 6 and 8 digits long"),
        ({"account_number": "1234567890"}, "account_number", "must be between 6 and 8 digits long"),
        ({"account_number": "１２３４５６７８"}, "account_number", "must be between 6 and 8 digits long"),
        ({"account_number": "1" * 5000}, "account_number", "must be between 6 and 8 digits long"),
        ({"account_name": "   "}, "account_name", "Enter the name on the account"),
        ({"account_name": "x" * 121}, "account_name", "120 characters or fewer"),
        ({"account_name": "株式会社"}, "account_name", "in letters and numbers"),
    ],
)
def test_details_in_the_wrong_form_are_refused_with_a_clear_message(provider, owner, details, field, message):
    with pytest.raises(ValidationError) as caught:
        submit(provider, owner, **details)
    assert message in caught.value.errors[field]
    assert set(caught.value.errors) == {field}
    assert accounts_of(provider) == []


def test_every_problem_is_named_at_once(provider, owner):
    with pytest.raises(ValidationError) as caught:
        submit(provider, owner, password="wrong", sort_code="1", account_number="2", account_name="")
    assert set(caught.value.errors) == {"password", "sort_code", "account_number", "account_name"}


def test_the_audit_trail_records_the_change_with_the_account_masked(provider, owner):
    change = submit(provider, owner)
    event = db.session.execute(select(AuditEvent)).scalar_one()
    assert (event.action, event.target_type, event.target_id, event.actor_id) == (
        "bank_account.change_submitted",
        "provider",
        str(provider.id),
        owner.id,
    )
    assert event.after == {"pending": {"id": change.id, "account": "30-94-30, account ending 3445", "account_name": "Alpha Care Ltd"}}
    assert event.before == {"confirmed": None, "pending": None}
    assert "00733445" not in json.dumps([event.before, event.after, event.note])


def test_every_owner_is_told_by_email_and_in_their_account_and_no_one_else(provider, owner, make_provider_staff):
    other_owner = make_provider_staff(provider, OrgRole.OWNER)
    manager = make_provider_staff(provider, OrgRole.MANAGER)
    submit(provider, owner)
    for person in (owner, other_owner):
        [email] = outbox(person.email)
        assert "New bank details for Alpha Care" in email.subject
        assert "Olive Owner asked for Alpha Care to be paid into a new account: 30-94-30, account ending 3445" in email.body_text
        assert "contact the council straight away" in email.body_text
        assert "/provider/bank-details" in email.body_text
        assert "00733445" not in email.body_text
    assert outbox(manager.email) == []
    notified = set(db.session.execute(select(Notification.user_id)).scalars())
    assert notified == {owner.id, other_owner.id}


def test_a_newer_change_replaces_one_still_waiting(provider, owner):
    first = submit(provider, owner)
    second = submit(provider, owner, account_number="12345678")
    old, new = accounts_of(provider)
    assert (old.id, new.id) == (first.id, second.id)
    assert old.status is BankAccountStatus.REJECTED
    assert old.decision_note == "replaced by a newer change"
    assert new.status is BankAccountStatus.PENDING
    assert bank_accounts.pending_confirmations() == [new]


def test_the_details_already_held_are_not_a_change(provider, owner, commissioner):
    submit(provider, owner)
    with pytest.raises(ValidationError) as caught:
        submit(provider, owner, sort_code="309430", account_number="0073 3445")
    assert caught.value.errors["account_number"].startswith("These are the details we already have")
    bank_accounts.confirm(bank_accounts.pending_account(provider), by=commissioner, note="Phoned the number on our file")
    with pytest.raises(ValidationError, match="These are the details we already have"):
        submit(provider, owner)
    # A different name on the same account is a change (the bank checks the name too).
    assert submit(provider, owner, account_name="Alpha Care Limited").status is BankAccountStatus.PENDING


# -- Confirming and rejecting ----------------------------------------------------------------


def test_confirming_replaces_the_old_account_in_one_step(provider, owner, commissioner):
    first = submit(provider, owner)
    bank_accounts.confirm(first, by=commissioner, note="Phoned the number on our file")
    assert bank_accounts.confirmed_account(provider) == first
    second = submit(provider, owner, account_number="12345678")
    assert bank_accounts.confirmed_account(provider) == first  # runs pay the old one until confirmed
    confirmed = bank_accounts.confirm(second, by=commissioner, note="Phoned the number on our file")
    old, new = accounts_of(provider)
    assert old.status is BankAccountStatus.REPLACED
    assert (new.status, new.decided_by_id, new.decision_note) == (
        BankAccountStatus.CONFIRMED,
        commissioner.id,
        "Phoned the number on our file",
    )
    assert new.decided_at is not None and confirmed.id == new.id
    assert bank_accounts.pending_confirmations() == []
    event = (
        db.session.execute(select(AuditEvent).where(AuditEvent.action == "bank_account.confirmed").order_by(AuditEvent.id.desc()))
        .scalars()
        .first()
    )
    assert event.actor_id == commissioner.id and event.note == "Phoned the number on our file"
    assert event.after["confirmed"]["account"] == "30-94-30, account ending 5678"
    assert event.before["confirmed"]["account"] == "30-94-30, account ending 3445"
    assert "12345678" not in json.dumps([event.before, event.after])
    email = outbox(owner.email)[-1]
    assert "confirmed" in email.subject
    assert "now go to 30-94-30, account ending 5678" in email.body_text and "instead of 30-94-30, account ending 3445" in email.body_text


def test_rejecting_keeps_the_confirmed_account_and_tells_the_owners_why(provider, owner, commissioner):
    first = submit(provider, owner)
    bank_accounts.confirm(first, by=commissioner, note="Phoned the number on our file")
    second = submit(provider, owner, account_number="12345678")
    bank_accounts.reject(second, by=commissioner, note="The provider says it did not ask for this")
    assert bank_accounts.confirmed_account(provider) == first
    assert bank_accounts.pending_account(provider) is None
    db.session.refresh(second)
    assert second.status is BankAccountStatus.REJECTED
    email = outbox(owner.email)[-1]
    assert "did not accept" in email.subject
    assert "The council said: The provider says it did not ask for this" in email.body_text
    assert "Payments still go to 30-94-30, account ending 3445" in email.body_text
    assert db.session.execute(select(AuditEvent.action).order_by(AuditEvent.id.desc())).scalars().first() == "bank_account.rejected"


@pytest.mark.parametrize("decide", [bank_accounts.confirm, bank_accounts.reject])
def test_a_decision_needs_a_note_saying_how_it_was_checked(provider, owner, commissioner, decide):
    change = submit(provider, owner)
    with pytest.raises(ValidationError) as caught:
        decide(change, by=commissioner, note="   ")
    assert "note" in caught.value.errors
    assert bank_accounts.pending_account(provider) is not None


def test_a_decided_change_cannot_be_decided_again(provider, owner, commissioner):
    change = submit(provider, owner)
    bank_accounts.reject(change, by=commissioner, note="Could not reach them")
    with pytest.raises(InvalidTransition):
        bank_accounts.confirm(change, by=commissioner, note="Phoned the number on our file")
    assert bank_accounts.confirmed_account(provider) is None


def test_only_the_council_confirms(provider, owner, make_provider_staff, make_citizen):
    change = submit(provider, owner)
    for person in (owner, make_citizen()):
        with pytest.raises(NotFound):
            bank_accounts.confirm(change, by=person, note="I say so")
        with pytest.raises(NotFound):
            bank_accounts.get_for_council(person, change.id)
    assert bank_accounts.pending_account(provider) is not None


def test_the_queue_is_every_providers_waiting_change_oldest_first(provider, owner, make_provider, make_provider_staff):
    other = make_provider(name="Beta Care")
    first = submit(provider, owner)
    second = submit(other, make_provider_staff(other, OrgRole.OWNER))
    assert bank_accounts.pending_confirmations() == [first, second]
    assert bank_accounts.confirmed_accounts([provider.id, other.id]) == {}


# -- At the same moment --------------------------------------------------------------------


def _at_once(app, *works):
    """Run each of ``works`` in its own thread and connection, the first slowed at its decision
    point and the others starting a moment after it; returns what each returned or raised."""

    def work(i):
        if i:
            time.sleep(0.15)
        return works[i]()

    return at_once(app, len(works), work)


def test_two_commissioners_confirming_at_once_confirm_once(app, monkeypatch, provider, owner, commissioner, make_commissioner):
    change_id = submit(provider, owner).id
    second_commissioner_id = make_commissioner().id
    commissioner_id = commissioner.id
    slow = threading.local()
    original = bank_accounts._require_pending

    def slowed(change):
        original(change)
        slow.calls = getattr(slow, "calls", 0) + 1
        if getattr(slow, "on", False) and slow.calls == 2:  # the check under the lock
            time.sleep(0.6)  # decided to go ahead, not yet written

    monkeypatch.setattr(bank_accounts, "_require_pending", slowed)

    def confirm_as(user_id, slowed_down=False):
        def work():
            slow.on = slowed_down
            change = db.session.get(ProviderBankAccount, change_id)
            return bank_accounts.confirm(change, by=db.session.get(User, user_id), note="Phoned the number on our file").id

        return work

    results = _at_once(app, confirm_as(commissioner_id, slowed_down=True), confirm_as(second_commissioner_id))
    assert sorted(type(r).__name__ for r in results) == ["InvalidTransition", "int"]
    [confirmed] = [a for a in accounts_of(provider) if a.status is BankAccountStatus.CONFIRMED]
    assert confirmed.id == change_id
    assert db.session.execute(select(func.count()).where(AuditEvent.action == "bank_account.confirmed")).scalar_one() == 1


def test_if_two_confirmed_accounts_ever_got_as_far_as_the_database_it_refuses_them(monkeypatch, provider, owner, commissioner):
    """The partial unique index is the last word: a confirmation that read a stale 'no
    confirmed account' is a Conflict, and nothing changes."""
    first = submit(provider, owner)
    bank_accounts.confirm(first, by=commissioner, note="Phoned the number on our file")
    second = submit(provider, owner, account_number="12345678")
    monkeypatch.setattr(bank_accounts, "confirmed_account", lambda provider: None)
    with pytest.raises(Conflict, match="at the same moment"):
        bank_accounts.confirm(second, by=commissioner, note="Phoned the number on our file")
    monkeypatch.undo()
    assert [a.status for a in accounts_of(provider)] == [BankAccountStatus.CONFIRMED, BankAccountStatus.PENDING]


def test_two_owners_submitting_at_once_leave_one_change_waiting(app, provider, owner, make_provider_staff):
    other_owner_id = make_provider_staff(provider, OrgRole.OWNER).id
    owner_id, provider_id = owner.id, provider.id

    def submit_as(user_id, number):
        def work():
            return submit(db.session.get(Provider, provider_id), db.session.get(User, user_id), account_number=number).id

        return work

    results = _at_once(app, submit_as(owner_id, "11111111"), submit_as(other_owner_id, "22222222"))
    assert all(isinstance(r, int) for r in results), results
    statuses = sorted(a.status.value for a in accounts_of(provider))
    assert statuses == ["pending", "rejected"]
