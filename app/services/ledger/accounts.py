"""The ledger's accounts, each created on first use (race-safe)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.database import unit_of_work_memo
from app.extensions import db
from app.models import (
    MAY_GO_NEGATIVE,
    AccountKind,
    LedgerAccount,
)

# Accounts ------------------------------------------------------------------------------


def account(kind: AccountKind, owner_key: str, name: str, **refs) -> LedgerAccount:
    """The account of ``kind`` for ``owner_key``, created on first use (race-safe); read
    once per unit of work (an account's kind and owner never change)."""
    memo = unit_of_work_memo()
    found = memo.get((kind, owner_key))
    if found is None:
        found = db.session.execute(
            select(LedgerAccount).where(LedgerAccount.kind == kind, LedgerAccount.owner_key == owner_key)
        ).scalar_one_or_none()
    if found is None:
        found = LedgerAccount(kind=kind, owner_key=owner_key, name=name, allow_negative=kind in MAY_GO_NEGATIVE, **refs)
        try:
            with db.session.begin_nested():
                db.session.add(found)
        except IntegrityError:
            # Another request created it at the same moment: use theirs.
            found = db.session.execute(
                select(LedgerAccount).where(LedgerAccount.kind == kind, LedgerAccount.owner_key == owner_key)
            ).scalar_one()
    unit_of_work_memo()[(kind, owner_key)] = found
    return found


def remember_account(acc: LedgerAccount) -> None:
    """An account the caller read itself (with other rows, in one query): ``account`` finds
    it for the rest of this unit of work without asking the database again."""
    unit_of_work_memo()[(acc.kind, acc.owner_key)] = acc


def council_funding_account() -> LedgerAccount:
    return account(AccountKind.COUNCIL_FUNDING, "council", "Council funding for personal budgets")


def budget_account(budget, provider=None) -> LedgerAccount:
    """A budget's spending account; an ISF has one per provider that has held it."""
    if provider is not None:
        return account(
            AccountKind.BUDGET,
            f"budget:{budget.id}:provider:{provider.id}",
            f"Individual Service Fund {budget.public_id} held with {provider.name}",
            budget_id=budget.id,
            provider_id=provider.id,
        )
    return account(AccountKind.BUDGET, f"budget:{budget.id}", f"Personal budget {budget.public_id}", budget_id=budget.id)


def hold_account(booking) -> LedgerAccount:
    fields = hold_account_fields(booking)
    return account(fields.pop("kind"), fields.pop("owner_key"), fields.pop("name"), **fields)


def hold_account_fields(booking) -> dict:
    """What names a booking's hold account: its kind, owner, name and booking."""
    return {
        "kind": AccountKind.BOOKING_HOLD,
        "owner_key": f"booking:{booking.id}",
        "name": f"Held for booking {booking.reference}",
        "booking_id": booking.id,
    }


def provider_payable_account(provider) -> LedgerAccount:
    return account(AccountKind.PROVIDER_PAYABLE, f"provider:{provider.id}", f"Owed to {provider.name}", provider_id=provider.id)


def provider_payable_accounts(providers) -> dict[int, LedgerAccount]:
    """Each provider's payable account by provider id, in one query (those missing created)."""
    providers = {provider.id: provider for provider in providers}
    found = db.session.execute(
        select(LedgerAccount).where(LedgerAccount.kind == AccountKind.PROVIDER_PAYABLE, LedgerAccount.provider_id.in_(providers))
    ).scalars()
    accounts = {acc.provider_id: acc for acc in found if acc.owner_key == f"provider:{acc.provider_id}"}
    for provider_id in providers.keys() - accounts.keys():
        accounts[provider_id] = provider_payable_account(providers[provider_id])
    return accounts
