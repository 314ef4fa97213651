"""Where providers are paid: their bank details, changed only with a commissioner's say-so.

A change of bank details is how payment fraud is usually tried (someone with a provider's
sign-in, or an email that looks like the provider's, asks for the money to go elsewhere).
So:

* only an owner of the provider may submit new details, and only after typing their
  password again;
* the details are a new ``pending`` row, never an edit: runs keep paying the confirmed
  account until a commissioner has checked the change with the provider by some other
  means (a phone call to a number the council already holds) and confirmed it;
* every owner is told of every submission and decision, by email and in their account;
* the audit trail records each step with the account masked (sort code and last 4 digits).

One provider's changes take turns on the provider's row lock (the one its team changes
take, so a change races neither another change nor a demotion), and the database keeps at
most one confirmed and one pending account per provider whatever happens.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.database import utcnow, write_transaction
from app.extensions import db
from app.models import BankAccountStatus, OrgRole, Provider, ProviderBankAccount, Role, User
from app.services import audit, notifications, team
from app.services.errors import Conflict, InvalidTransition, NotFound, ValidationError
from app.services.passwords import verify_password
from app.services.payment_runs.bacs import bacs_text, normalise_account_number, normalise_sort_code

MAX_NAME_LENGTH = 120  # the column's size
MAX_NOTE_LENGTH = 2000
LINK = "/provider/bank-details"

NOT_AN_OWNER = "Only an owner of your organisation can change its bank details."
WRONG_PASSWORD = "Your password is not right"
NO_PASSWORD = "Enter your password"
NO_NAME = "Enter the name on the account"
NAME_TOO_LONG = f"Name on the account must be {MAX_NAME_LENGTH} characters or fewer"
NAME_UNUSABLE = "Enter the name on the account in letters and numbers, as the bank has it"
NO_SORT_CODE = "Enter a sort code"
BAD_SORT_CODE = "Enter a valid sort code, like 309430"
NO_ACCOUNT_NUMBER = "Enter an account number"
BAD_ACCOUNT_NUMBER = "Enter a valid account number, like 00733445: it must be between 6 and 8 digits long"
UNCHANGED = "These are the details we already have"
RACED = "The bank details were changed at the same moment by someone else. Check them and try again."


# -- Reading -----------------------------------------------------------------------------


def confirmed_account(provider: Provider) -> ProviderBankAccount | None:
    """The account payment runs pay, or None while none has been confirmed."""
    return _one(provider, BankAccountStatus.CONFIRMED)


def pending_account(provider: Provider) -> ProviderBankAccount | None:
    """A change waiting for a commissioner, or None."""
    return _one(provider, BankAccountStatus.PENDING)


def _one(provider: Provider, status: BankAccountStatus) -> ProviderBankAccount | None:
    return db.session.execute(
        select(ProviderBankAccount).where(ProviderBankAccount.provider_id == provider.id, ProviderBankAccount.status == status)
    ).scalar_one_or_none()


def history(provider: Provider, limit: int = 10) -> list[ProviderBankAccount]:
    """The provider's bank details as submitted, newest first (confirmed, replaced, rejected...)."""
    return list(
        db.session.execute(
            select(ProviderBankAccount)
            .where(ProviderBankAccount.provider_id == provider.id)
            .order_by(ProviderBankAccount.submitted_at.desc(), ProviderBankAccount.id.desc())
            .limit(limit)
        ).scalars()
    )


def pending_confirmations() -> list[ProviderBankAccount]:
    """Every change waiting for a commissioner, oldest first: the confirmation queue."""
    return list(
        db.session.execute(
            select(ProviderBankAccount)
            .where(ProviderBankAccount.status == BankAccountStatus.PENDING)
            .order_by(ProviderBankAccount.submitted_at, ProviderBankAccount.id)
        ).scalars()
    )


def confirmed_accounts(provider_ids: list[int]) -> dict[int, ProviderBankAccount]:
    """The confirmed account of each of these providers that has one, by provider id."""
    if not provider_ids:
        return {}
    rows = db.session.execute(
        select(ProviderBankAccount).where(
            ProviderBankAccount.provider_id.in_(set(provider_ids)), ProviderBankAccount.status == BankAccountStatus.CONFIRMED
        )
    ).scalars()
    return {row.provider_id: row for row in rows}


def get_for_council(user: User, bank_account_id: int) -> ProviderBankAccount:
    """One submitted account, for a commissioner or admin (anyone else: NotFound)."""
    _require_council(user)
    row = db.session.get(ProviderBankAccount, bank_account_id)
    if row is None:
        raise NotFound("No such bank details")
    return row


def may_change(user: User, provider: Provider) -> bool:
    """Whether this person may submit new bank details for the provider (an owner of it)."""
    try:
        require_owner(user, provider)
    except (NotFound, team.NotAllowed):
        return False
    return True


# -- A provider's owner submits new details ----------------------------------------------


def submit_change(
    provider: Provider,
    *,
    by: User,
    password: str,
    sort_code: str,
    account_number: str,
    account_name: str,
    now: dt.datetime | None = None,
) -> ProviderBankAccount:
    """Submit new bank details for the council to confirm. Someone not on the provider's
    team: NotFound; on it but not an owner: ``team.NotAllowed``. Wrong password or details
    not in the right form: ValidationError naming every field at fault, and nothing saved.
    A change still waiting is replaced by this one (it is rejected, saying so)."""
    require_owner(by, provider)
    name, sort_code, account_number = _checked_details(by, password, account_name, sort_code, account_number)
    now = now or utcnow()
    try:
        with write_transaction():
            team.lock_team(provider)
            require_owner(by, provider)  # again, under the lock: not demoted meanwhile
            confirmed, pending = confirmed_account(provider), pending_account(provider)
            for existing in (pending, confirmed):
                if existing is not None and _same(existing, sort_code, account_number, name):
                    raise ValidationError({"account_number": _unchanged_message(existing, pending)})
            if pending is not None:
                _decide(pending, BankAccountStatus.REJECTED, by, "replaced by a newer change", now)
                db.session.flush()  # the one-pending index: the old one stops pending first
            change = ProviderBankAccount(
                provider_id=provider.id,
                sort_code=sort_code,
                account_number=account_number,
                account_name=name,
                status=BankAccountStatus.PENDING,
                submitted_by_id=by.id,
                submitted_at=now,
            )
            db.session.add(change)
            db.session.flush()
            audit.record(
                by,
                "bank_account.change_submitted",
                "provider",
                provider.id,
                before={"confirmed": _summary(confirmed), "pending": _summary(pending)},
                after={"pending": _summary(change)},
                at=now,
            )
            _tell_owners(
                provider,
                f"New bank details for {provider.name} are waiting to be confirmed",
                f"{by.name} asked for {provider.name} to be paid into a new account: {change.masked}, "
                f"in the name of {name}.\n\nThe council will contact your organisation to check the change before any "
                f"payment goes to it. {_paid_now(confirmed, 'Until then, payments go to')}\n\n"
                "If nobody at your organisation asked for this, contact the council straight away.",
            )
    except IntegrityError:
        raise Conflict(RACED) from None
    return change


def _checked_details(by: User, password: str, account_name: str, sort_code: str, account_number: str) -> tuple[str, str, str]:
    """The details in the form we keep them, or ValidationError with every problem at once."""
    errors: dict[str, str] = {}
    name = " ".join((account_name or "").split())
    if not name:
        errors["account_name"] = NO_NAME
    elif len(name) > MAX_NAME_LENGTH:
        errors["account_name"] = NAME_TOO_LONG
    elif not bacs_text(name, MAX_NAME_LENGTH).strip():
        errors["account_name"] = NAME_UNUSABLE  # the payment file could carry no name at all
    sort_code, sort_problem = _normalised(sort_code, normalise_sort_code, NO_SORT_CODE, BAD_SORT_CODE)
    account_number, account_problem = _normalised(account_number, normalise_account_number, NO_ACCOUNT_NUMBER, BAD_ACCOUNT_NUMBER)
    if sort_problem:
        errors["sort_code"] = sort_problem
    if account_problem:
        errors["account_number"] = account_problem
    if not password:
        errors["password"] = NO_PASSWORD
    elif not verify_password(by.password_hash, password):
        errors["password"] = WRONG_PASSWORD
    if errors:
        raise ValidationError(errors)
    return name, sort_code, account_number


def _normalised(text: str | None, normalise, missing: str, invalid: str) -> tuple[str, str | None]:
    text = (text or "").strip()
    if not text:
        return "", missing
    value = normalise(text) if len(text) <= 40 else None
    return (value, None) if value else ("", invalid)


def _same(account: ProviderBankAccount, sort_code: str, account_number: str, name: str) -> bool:
    return (account.sort_code, account.account_number, account.account_name) == (sort_code, account_number, name)


def _unchanged_message(existing: ProviderBankAccount, pending: ProviderBankAccount | None) -> str:
    if existing is pending:
        return f"{UNCHANGED}: they are waiting for the council to confirm them"
    if pending is not None:
        return f"{UNCHANGED}. If nobody at your organisation asked for the change waiting to be confirmed, contact the council"
    return UNCHANGED


# -- A commissioner decides ------------------------------------------------------------------


def confirm(bank_account: ProviderBankAccount, *, by: User, note: str, now: dt.datetime | None = None) -> ProviderBankAccount:
    """Confirm a pending change after checking it with the provider (``note`` says how).
    The account confirmed before becomes ``replaced``, in the same transaction; runs prepared
    from now on pay the new one. Already decided (a second commissioner at the same moment
    included): InvalidTransition."""
    return _decide_pending(bank_account, BankAccountStatus.CONFIRMED, by=by, note=note, now=now)


def reject(bank_account: ProviderBankAccount, *, by: User, note: str, now: dt.datetime | None = None) -> ProviderBankAccount:
    """Refuse a pending change (``note`` says why); runs keep paying the confirmed account."""
    return _decide_pending(bank_account, BankAccountStatus.REJECTED, by=by, note=note, now=now)


def _decide_pending(
    bank_account: ProviderBankAccount, outcome: BankAccountStatus, *, by: User, note: str, now: dt.datetime | None
) -> ProviderBankAccount:
    _require_council(by)
    _require_pending(bank_account)
    note = _note(note, outcome)
    now = now or utcnow()
    provider = bank_account.provider
    try:
        with write_transaction():
            team.lock_team(provider)  # then read afresh: another decision may have come first
            change = db.session.get(ProviderBankAccount, bank_account.id)
            _require_pending(change)
            before = confirmed_account(provider)
            if outcome is BankAccountStatus.CONFIRMED and before is not None:
                before.status = BankAccountStatus.REPLACED
                db.session.flush()  # the one-confirmed index: the old one steps aside first
            _decide(change, outcome, by, note, now)
            db.session.flush()
            confirmed = outcome is BankAccountStatus.CONFIRMED
            audit.record(
                by,
                "bank_account.confirmed" if confirmed else "bank_account.rejected",
                "provider",
                provider.id,
                before={"confirmed": _summary(before), "pending": _summary(change)},
                after={"confirmed": _summary(change if confirmed else before), "pending": None},
                note=note,
                at=now,
            )
            _tell_owners(provider, *_decision_message(provider, change, before, note))
    except IntegrityError:
        raise Conflict(RACED) from None
    return change


def _require_pending(change: ProviderBankAccount) -> None:
    if change.status is not BankAccountStatus.PENDING:
        raise InvalidTransition(f"This change has already been decided: {change.status.label.lower()}.")


def _decision_message(provider: Provider, change: ProviderBankAccount, before: ProviderBankAccount | None, note: str) -> tuple[str, str]:
    if change.status is BankAccountStatus.CONFIRMED:
        return (
            f"The council has confirmed {provider.name}'s new bank details",
            f"Payments to {provider.name} now go to {change.masked}, in the name of {change.account_name}"
            + (f", instead of {before.masked}." if before is not None else ".")
            + "\n\nIf nobody at your organisation asked for this, contact the council straight away.",
        )
    return (
        f"The council did not accept the change to {provider.name}'s bank details",
        f"The council did not accept the change to {change.masked}.\n\nThe council said: {note}\n\n"
        + _paid_now(before, "Payments still go to"),
    )


def _decide(change: ProviderBankAccount, status: BankAccountStatus, by: User, note: str, now: dt.datetime) -> None:
    change.status = status
    change.decided_by_id = by.id
    change.decided_at = now
    change.decision_note = note


def _note(note: str | None, outcome: BankAccountStatus) -> str:
    note = (note or "").strip()
    if not note:
        if outcome is BankAccountStatus.CONFIRMED:
            raise ValidationError({"note": "Enter how you checked the new details with the provider, like ‘Phoned the number on our file’"})
        raise ValidationError({"note": "Enter why you are not accepting the new details, so the provider knows"})
    if len(note) > MAX_NOTE_LENGTH:
        raise ValidationError({"note": f"The note must be {MAX_NOTE_LENGTH:,} characters or fewer"})
    return note


# -- Who may, and who is told ------------------------------------------------------------------


def require_owner(user: User, provider: Provider) -> None:
    """Only an owner may change bank details: NotFound off the team, NotAllowed on it."""
    membership = team.require_member(user, provider)
    if membership.org_role is not OrgRole.OWNER:
        raise team.NotAllowed(NOT_AN_OWNER)


def _require_council(user: User) -> None:
    if user is None or user.role not in (Role.COMMISSIONER, Role.ADMIN) or not user.active:
        raise NotFound("No such bank details")


def _tell_owners(provider: Provider, subject: str, body: str) -> None:
    for member in team.members(provider):
        if member.org_role is OrgRole.OWNER and member.user.active:
            notifications.notify(member.user, subject, body, link=LINK)


def _summary(account: ProviderBankAccount | None) -> dict | None:
    """An account as the audit trail keeps it: masked, never the full account number."""
    if account is None:
        return None
    return {"id": account.id, "account": account.masked, "account_name": account.account_name}


def _paid_now(confirmed: ProviderBankAccount | None, lead: str) -> str:
    if confirmed is None:
        return "The council cannot pay your organisation until it has confirmed bank details for it."
    return f"{lead} {confirmed.masked}."
