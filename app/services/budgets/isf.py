"""Individual Service Funds: the providers that may hold one, and moving a fund to another
provider with every balance it left behind, once per request."""

from __future__ import annotations

import secrets

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from app.database import utcnow, write_transaction
from app.extensions import db
from app.models import (
    AccountKind,
    Booking,
    BookingVisit,
    BudgetType,
    LedgerAccount,
    PersonalBudget,
    Provider,
    ProviderStatus,
    TransactionKind,
    User,
    VisitStatus,
)
from app.models.budgets import IsfMove
from app.services import audit, ledger
from app.services.errors import Conflict, ValidationError
from app.services.ledger import Actor


def isf_providers() -> list[Provider]:
    """The providers that may hold an Individual Service Fund (those listed on the
    marketplace: verified), by name."""
    return list(db.session.execute(select(Provider).where(Provider.status == ProviderStatus.VERIFIED).order_by(Provider.name)).scalars())


def isf_move_by_key(request_key: str) -> IsfMove | None:
    return db.session.execute(select(IsfMove).where(IsfMove.request_key == request_key)).scalar_one_or_none()


def _same_move(move: IsfMove, budget: PersonalBudget, new_provider: Provider) -> IsfMove:
    if move.budget_id != budget.id or move.to_provider_id != new_provider.id:
        raise Conflict("That request was already used for another move. Go back to your budget and try again")
    return move


def move_isf(
    budget: PersonalBudget, new_provider: Provider, *, actor: Actor, request_key: str | None = None, from_provider_id: int | None = None
) -> IsfMove:
    """Move an Individual Service Fund to another provider; every balance left with earlier
    providers moves with it.

    Conditional on the provider the mover saw (``from_provider_id``, by default
    ``budget.isf_provider_id`` as passed): if someone moved the fund meanwhile, this raises
    Conflict and changes nothing, so two moves at once cannot strand money. Idempotent on
    ``request_key`` (the form's hidden key): the same request again returns the first move.
    """
    request_key = request_key or secrets.token_hex(16)
    done = isf_move_by_key(request_key)
    if done is not None:
        return _same_move(done, budget, new_provider)
    if budget.budget_type is not BudgetType.ISF:
        raise ValidationError({"provider": "Only an Individual Service Fund is held with a provider"})
    if new_provider.status is not ProviderStatus.VERIFIED:
        raise ValidationError({"provider": "Choose a provider that is listed on the marketplace"})
    expected = from_provider_id if from_provider_id is not None else budget.isf_provider_id
    if new_provider.id == expected:
        raise ValidationError({"provider": f"Your Individual Service Fund is already held with {new_provider.name}"})
    try:
        with write_transaction():
            done = isf_move_by_key(request_key)
            if done is not None:
                return _same_move(done, budget, new_provider)
            budget = _claim_fund(budget, expected, new_provider)
            old_provider = db.session.get(Provider, expected)
            _refuse_with_upcoming_visits(budget, old_provider)
            move = _move_balances(budget, old_provider, new_provider, actor=actor, request_key=request_key)
    except IntegrityError:
        # The same request, sent twice at once, committed first: its move is the answer.
        db.session.rollback()
        done = isf_move_by_key(request_key)
        if done is None:
            raise
        return _same_move(done, budget, new_provider)
    return move


def _claim_fund(budget: PersonalBudget, expected_provider_id: int, new_provider: Provider) -> PersonalBudget:
    """Point the fund at its new provider only if it is still where the mover saw it."""
    table = PersonalBudget.__table__
    claimed = db.session.execute(
        update(table)
        .where(table.c.id == budget.id, table.c.isf_provider_id == expected_provider_id)
        .values(isf_provider_id=new_provider.id, updated_at=utcnow())
    ).rowcount
    budget = db.session.get(PersonalBudget, budget.id, populate_existing=True)
    if claimed != 1:
        raise Conflict(
            f"Your Individual Service Fund was moved to {budget.isf_provider.name} while you were choosing. "
            "Check where it is held now, then try again"
        )
    return budget


def _refuse_with_upcoming_visits(budget: PersonalBudget, old_provider: Provider) -> None:
    upcoming = db.session.execute(
        select(func.count(BookingVisit.id))
        .join(Booking, BookingVisit.booking_id == Booking.id)
        .where(
            Booking.budget_id == budget.id,
            Booking.provider_id == old_provider.id,
            BookingVisit.status.in_([VisitStatus.SCHEDULED, VisitStatus.HELD, VisitStatus.SHORT]),
        )
    ).scalar_one()
    if upcoming:
        raise Conflict(
            f"You have {upcoming} upcoming visit{'s' if upcoming != 1 else ''} with {old_provider.name}. "
            "Cancel them, or wait until they have happened, before moving your Individual Service Fund."
        )


def _move_balances(budget: PersonalBudget, old_provider: Provider, new_provider: Provider, *, actor: Actor, request_key: str) -> IsfMove:
    """Move every balance the fund has with other providers to the new one, and record the move."""
    new_account = ledger.budget_account(budget, new_provider)
    # Every account the fund has had with other providers, locked (in id order) so
    # nothing is paid into or out of them while their balances move.
    old_accounts = (
        db.session.execute(
            select(LedgerAccount)
            .where(LedgerAccount.budget_id == budget.id, LedgerAccount.kind == AccountKind.BUDGET, LedgerAccount.id != new_account.id)
            .order_by(LedgerAccount.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        .scalars()
        .all()
    )
    legs = [(acc, -acc.balance_pence) for acc in old_accounts if acc.balance_pence > 0]
    moved = -sum(amount for _, amount in legs)
    transaction = None
    if legs:
        transaction = ledger.post(
            TransactionKind.ISF_TRANSFER,
            [*legs, (new_account, moved)],
            key=f"isf-move:budget:{budget.id}:request:{request_key}",
            cause=("personal_budget", budget.id),
            actor=actor,
            memo=f"Individual Service Fund moved from {old_provider.name} to {new_provider.name}",
        )
    move = IsfMove(
        budget_id=budget.id,
        request_key=request_key,
        from_provider_id=old_provider.id,
        to_provider_id=new_provider.id,
        moved_pence=moved,
        transaction_id=transaction.id if transaction else None,
        moved_by_id=actor.user_id,
    )
    db.session.add(move)
    db.session.flush()
    mover = db.session.get(User, actor.user_id) if actor.user_id else None
    audit.record(
        mover,
        "budget.isf_moved",
        "personal_budget",
        budget.id,
        before={"isf_provider_id": old_provider.id},
        after={"isf_provider_id": new_provider.id, "moved_pence": moved},
    )
    return move
