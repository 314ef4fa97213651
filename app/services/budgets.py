"""Personal budgets: set-up, 4-weekly funding, ISF moves, and what a budget holder sees.

Money moves only through ``app.services.ledger``. This module decides *what* to move.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from app.database import utcnow, write_transaction
from app.extensions import db
from app.formatting import format_pence
from app.models import (
    AccountKind,
    Booking,
    BookingVisit,
    BudgetOutcome,
    BudgetPeriod,
    BudgetStatus,
    BudgetType,
    HoldStatus,
    LedgerAccount,
    LedgerEntry,
    LedgerHold,
    LedgerTransaction,
    PaymentMethod,
    PersonalBudget,
    Provider,
    ProviderStatus,
    Role,
    TransactionKind,
    User,
    VisitStatus,
)
from app.models.budgets import IsfMove
from app.services import audit, ledger
from app.services.errors import Conflict, NotFound, ValidationError
from app.services.ledger import Actor
from app.services.policy import PERIOD_DAYS, Policy
from app.uk_time import local_midnight, uk_today

MAX_AMOUNT_PENCE = 2_000_000  # £20,000 per 4 weeks: above this is a typing slip
MAX_OUTCOMES = 12


def new_public_id() -> str:
    return secrets.token_urlsafe(12)


# Set-up ---------------------------------------------------------------------------------


def create_budget(
    *,
    citizen: User,
    budget_type: BudgetType,
    amount_per_period_pence: int,
    starts_on: dt.date,
    outcomes: list[str],
    created_by: User | None,
    policy: Policy,
    isf_provider: Provider | None = None,
    today: dt.date | None = None,
) -> PersonalBudget:
    """A commissioner sets up a budget; the period it starts in is funded at once."""
    errors: dict[str, str] = {}
    if citizen.role is not Role.CITIZEN:
        errors["citizen"] = "Choose a citizen account: budgets are for the person who receives care"
    if (
        isinstance(amount_per_period_pence, bool)
        or not isinstance(amount_per_period_pence, int)
        or not (0 < amount_per_period_pence <= MAX_AMOUNT_PENCE)
    ):
        errors["amount"] = "Enter an amount per 4 weeks between £0.01 and £20,000"
    texts = [o.strip() for o in outcomes if o and o.strip()]
    if not texts:
        errors["outcomes"] = "Enter at least one outcome from the support plan"
    elif len(texts) > MAX_OUTCOMES or any(len(t) > 200 for t in texts):
        errors["outcomes"] = f"Enter up to {MAX_OUTCOMES} outcomes, each 200 characters or fewer"
    if budget_type is BudgetType.ISF:
        if isf_provider is None or isf_provider.status is not ProviderStatus.VERIFIED:
            errors["isf_provider"] = "Choose the verified provider that will hold the Individual Service Fund"
    else:
        isf_provider = None
    if errors:
        raise ValidationError(errors)

    today = today or uk_today()
    with write_transaction():
        budget = PersonalBudget(
            public_id=new_public_id(),
            citizen_id=citizen.id,
            budget_type=budget_type,
            isf_provider_id=isf_provider.id if isf_provider else None,
            amount_per_period_pence=amount_per_period_pence,
            starts_on=starts_on,
            created_by_id=created_by.id if created_by else None,
        )
        budget.outcomes = [BudgetOutcome(text=t, position=i) for i, t in enumerate(texts)]
        db.session.add(budget)
        db.session.flush()
        spending_account(budget)
        audit.record(
            created_by,
            "budget.created",
            "personal_budget",
            budget.id,
            after={
                "citizen_id": citizen.id,
                "type": budget_type.value,
                "isf_provider_id": budget.isf_provider_id,
                "amount_per_period_pence": amount_per_period_pence,
                "starts_on": starts_on.isoformat(),
                "outcomes": texts,
            },
        )
    # Fund the period the budget starts in (if it has begun), so it can be used at once.
    if starts_on <= today:
        start, _ = policy.period_containing(max(starts_on, today))
        fund_budget(budget, start, policy=policy, actor=Actor.person(created_by) if created_by else Actor.system("budget set-up"))
    return budget


def spending_account(budget: PersonalBudget) -> LedgerAccount:
    """Where the budget's available money is: for an ISF, with its current provider."""
    if budget.budget_type is BudgetType.ISF:
        provider = budget.isf_provider or db.session.get(Provider, budget.isf_provider_id)
        return ledger.budget_account(budget, provider)
    return ledger.budget_account(budget)


def budget_accounts(budget: PersonalBudget) -> list[LedgerAccount]:
    return list(
        db.session.execute(
            select(LedgerAccount).where(LedgerAccount.budget_id == budget.id, LedgerAccount.kind == AccountKind.BUDGET)
        ).scalars()
    )


# Funding ----------------------------------------------------------------------------------


@dataclass
class FundingResult:
    budget: PersonalBudget
    period: BudgetPeriod | None  # None when the budget was not active in the period
    newly_funded: bool
    held_visits: int = 0
    short_visits: list[BookingVisit] = field(default_factory=list)


def _amount_for(budget: PersonalBudget, start: dt.date, end: dt.date) -> int:
    """The full amount, or a pro-rata share for a budget that starts or ends mid-period."""
    first = max(start, budget.starts_on)
    last_exclusive = min(end, budget.ends_on + dt.timedelta(days=1)) if budget.ends_on else end
    days = (last_exclusive - first).days
    if days <= 0:
        return 0
    return budget.amount_per_period_pence * days // PERIOD_DAYS


def lock_budget(budget_id: int) -> PersonalBudget:
    """Lock a budget's row for the rest of this unit of work and read it as it is now.

    Funding runs, ISF moves and covering short visits of one budget take turns on it;
    bookings take a shared lock on it (``bookings._create``). PostgreSQL: FOR NO KEY UPDATE
    (rows that refer to the budget can still be added); SQLite: the unit of work holds the
    write lock already."""
    table = PersonalBudget.__table__
    if db.session.execute(select(table.c.id).where(table.c.id == budget_id).with_for_update(key_share=True)).scalar() is None:
        raise NotFound("No such budget")
    return db.session.get(PersonalBudget, budget_id, populate_existing=True)


def _funded_period(budget_id: int, start: dt.date) -> BudgetPeriod | None:
    return db.session.execute(
        select(BudgetPeriod).where(BudgetPeriod.budget_id == budget_id, BudgetPeriod.starts_on == start)
    ).scalar_one_or_none()


def fund_budget(budget: PersonalBudget, period_start: dt.date, *, policy: Policy, actor: Actor) -> FundingResult:
    """Credit one budget for the period starting ``period_start`` (once), then hold the
    committed visits that fall in it, and any left short before it, earliest first.
    Running it again, even at the same moment in another process, changes nothing."""
    from app.services import bookings as booking_service

    start, end = policy.require_period_start(period_start)
    budget_id = budget.id
    try:
        with write_transaction():
            # The budget first (a second run of the same period waits here, then finds the
            # period funded), then the visits waiting for money, then the ledger.
            budget = lock_budget(budget_id)
            existing = _funded_period(budget.id, start)
            if existing is not None:
                return FundingResult(budget, existing, newly_funded=False)
            if budget.status is not BudgetStatus.ACTIVE:
                return FundingResult(budget, None, newly_funded=False)
            amount = _amount_for(budget, start, end)
            if amount <= 0:
                return FundingResult(budget, None, newly_funded=False)
            waiting = booking_service.lock_visits_to_hold(budget, before=local_midnight(end))
            account = spending_account(budget)
            transaction = ledger.post(
                TransactionKind.FUNDING,
                [(ledger.council_funding_account(), -amount), (account, amount)],
                key=f"fund:budget:{budget.id}:period:{start.isoformat()}",
                cause=("personal_budget", budget.id),
                actor=actor,
                # Paid in on the period's first day; paid in ahead of it, the money is there
                # (and can be set aside) from the moment it is paid in.
                effective_at=min(local_midnight(start), utcnow()),
                memo=f"Personal budget for {start:%-d %B %Y} to {end - dt.timedelta(days=1):%-d %B %Y}",
            )
            period = BudgetPeriod(budget_id=budget.id, starts_on=start, ends_on=end, funded_pence=amount, transaction_id=transaction.id)
            db.session.add(period)
            db.session.flush()
            held, short = booking_service.hold_waiting_visits(budget, waiting, actor)
            period.shortfall_pence = sum(v.amount_pence for v in short)
            result = FundingResult(budget, period, newly_funded=True, held_visits=held, short_visits=short)
    except IntegrityError:
        # Another run funded this period at the same moment (a database without row locks
        # would get here): it did the work, so this run skips the budget.
        db.session.rollback()
        existing = _funded_period(budget_id, start)
        if existing is None:
            raise
        return FundingResult(db.session.get(PersonalBudget, budget_id), existing, newly_funded=False)
    return result


@dataclass
class FundingRun:
    period_start: dt.date
    period_end: dt.date
    funded: list[FundingResult] = field(default_factory=list)
    already_funded: int = 0
    not_active: int = 0

    @property
    def total_pence(self) -> int:
        return sum(r.period.funded_pence for r in self.funded if r.period)


def fund_all(period_start: dt.date, *, policy: Policy, actor: Actor, progress=None) -> FundingRun:
    """Credit every active budget for one period. Safe to re-run, even after a crash."""
    start, end = policy.require_period_start(period_start)
    ids = (
        db.session.execute(
            select(PersonalBudget.id)
            .where(
                PersonalBudget.status == BudgetStatus.ACTIVE,
                PersonalBudget.starts_on < end,
                or_(PersonalBudget.ends_on.is_(None), PersonalBudget.ends_on >= start),
            )
            .order_by(PersonalBudget.id)
        )
        .scalars()
        .all()
    )
    run = FundingRun(start, end)
    for budget_id in ids:
        result = fund_budget(db.session.get(PersonalBudget, budget_id), start, policy=policy, actor=actor)
        if result.newly_funded:
            run.funded.append(result)
        elif result.period is not None:
            run.already_funded += 1
        else:
            run.not_active += 1
        if progress:
            progress(1)
    if run.funded:
        with write_transaction():
            audit.record(
                None,
                "budgets.funded",
                "budget_period",
                None,
                after={
                    "period_start": start.isoformat(),
                    "budgets_funded": len(run.funded),
                    "total_pence": run.total_pence,
                    "already_funded": run.already_funded,
                    "by": actor.label,
                },
            )
    return run


def latest_funded_period_end(budget: PersonalBudget) -> dt.date | None:
    return db.session.execute(select(func.max(BudgetPeriod.ends_on)).where(BudgetPeriod.budget_id == budget.id)).scalar_one_or_none()


# ISF moves -----------------------------------------------------------------------------------


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
            table = PersonalBudget.__table__
            claimed = db.session.execute(
                update(table)
                .where(table.c.id == budget.id, table.c.isf_provider_id == expected)
                .values(isf_provider_id=new_provider.id, updated_at=utcnow())
            ).rowcount
            budget = db.session.get(PersonalBudget, budget.id, populate_existing=True)
            if claimed != 1:
                raise Conflict(
                    f"Your Individual Service Fund was moved to {budget.isf_provider.name} while you were choosing. "
                    "Check where it is held now, then try again"
                )
            old_provider = db.session.get(Provider, expected)
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
            new_account = ledger.budget_account(budget, new_provider)
            # Every account the fund has had with other providers, locked (in id order) so
            # nothing is paid into or out of them while their balances move.
            old_accounts = (
                db.session.execute(
                    select(LedgerAccount)
                    .where(
                        LedgerAccount.budget_id == budget.id, LedgerAccount.kind == AccountKind.BUDGET, LedgerAccount.id != new_account.id
                    )
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
    except IntegrityError:
        # The same request, sent twice at once, committed first: its move is the answer.
        db.session.rollback()
        done = isf_move_by_key(request_key)
        if done is None:
            raise
        return _same_move(done, budget, new_provider)
    return move


# Corrections ---------------------------------------------------------------------------------


MAX_REASON = 500


# Payments into a budget: what a commissioner may reverse.
MONEY_IN = (TransactionKind.FUNDING, TransactionKind.ADJUSTMENT)


@dataclass(frozen=True)
class PaymentIn:
    """A payment into a budget: the transaction, what it paid in, and its reversal if any."""

    transaction: LedgerTransaction
    amount_pence: int
    reversal: LedgerTransaction | None


def payment_in(budget: PersonalBudget, transaction_id: int) -> PaymentIn:
    """A payment into this budget (funding or adjustment), or NotFound."""
    transaction = db.session.get(LedgerTransaction, transaction_id)
    ids = {a.id for a in budget_accounts(budget)}
    if (
        transaction is None
        or transaction.kind not in MONEY_IN
        or not any(e.account_id in ids and e.amount_pence > 0 for e in transaction.entries)
    ):
        raise NotFound("No such payment into this budget")
    amount = sum(e.amount_pence for e in transaction.entries if e.amount_pence > 0)
    return PaymentIn(transaction, amount, ledger.reversal_of(transaction))


def reverse_money_in(budget: PersonalBudget, transaction_id: int, *, by: User, reason: str) -> LedgerTransaction:
    """A commissioner reverses a payment into a budget made in error: a new, linked
    transaction takes it back to the council (nothing is edited). Once only: asking again
    returns the first reversal. Refused if the budget no longer has the money available."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Enter why the payment is being reversed: it goes in the audit trail"})
    if len(reason) > MAX_REASON:
        raise ValidationError({"reason": f"The reason must be {MAX_REASON} characters or fewer"})
    with write_transaction():
        budget = lock_budget(budget.id)
        paid = payment_in(budget, transaction_id)
        if paid.reversal is not None:
            return paid.reversal
        transaction, amount = paid.transaction, paid.amount_pence
        try:
            reversal = ledger.reverse(transaction, actor=Actor.person(by), reason=reason)
        except ledger.InsufficientFunds:
            raise Conflict(
                f"The budget does not have {format_pence(amount)} available to give back: some of it is set aside or spent. "
                "Cancel bookings first, or record an adjustment instead"
            ) from None
        audit.record(
            by,
            "budget.money_in_reversed",
            "personal_budget",
            budget.id,
            before={"transaction_id": transaction.id, "amount_pence": amount, "memo": transaction.memo},
            after={"reversal_id": reversal.id},
            note=reason,
        )
    return reversal


# What the budget holder sees -------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetSummary:
    funded_pence: int  # everything credited to the budget, ever
    available_pence: int  # can be spent now
    held_pence: int  # set aside for booked visits
    spent_pence: int  # paid for delivered care
    booked_later_pence: int  # booked for periods not yet funded (not yet set aside)
    short_pence: int  # booked visits the budget could not cover

    @property
    def balances(self) -> bool:
        return self.available_pence + self.held_pence + self.spent_pence == self.funded_pence


def _hold_totals(account_ids: list[int]) -> tuple[int, int]:
    if not account_ids:
        return 0, 0
    row = db.session.execute(
        select(
            func.coalesce(func.sum(LedgerHold.amount_pence).filter(LedgerHold.status == HoldStatus.HELD), 0),
            func.coalesce(func.sum(LedgerHold.captured_pence), 0),
        ).where(LedgerHold.budget_account_id.in_(account_ids))
    ).one()
    return int(row[0]), int(row[1])


def summary(budget: PersonalBudget) -> BudgetSummary:
    accounts = budget_accounts(budget)
    ids = [a.id for a in accounts]
    available = ledger.balances(accounts)
    held, spent = _hold_totals(ids)
    funded = 0
    if ids:
        funded = int(
            db.session.execute(
                select(func.coalesce(func.sum(LedgerEntry.amount_pence), 0))
                .join(LedgerTransaction, LedgerEntry.transaction_id == LedgerTransaction.id)
                .where(
                    LedgerEntry.account_id.in_(ids),
                    # Money in, less any of it reversed (a reversal is the only correction
                    # that touches a budget's own accounts).
                    LedgerTransaction.kind.in_([TransactionKind.FUNDING, TransactionKind.ADJUSTMENT, TransactionKind.CORRECTION]),
                )
            ).scalar_one()
        )
    later = dict(
        db.session.execute(
            select(BookingVisit.status, func.coalesce(func.sum(BookingVisit.amount_pence), 0))
            .join(Booking, BookingVisit.booking_id == Booking.id)
            .where(
                Booking.budget_id == budget.id,
                Booking.payment_method == PaymentMethod.BUDGET,
                BookingVisit.status.in_([VisitStatus.SCHEDULED, VisitStatus.SHORT]),
            )
            .group_by(BookingVisit.status)
        ).all()
    )
    return BudgetSummary(
        funded_pence=funded,
        available_pence=available,
        held_pence=held,
        spent_pence=spent,
        booked_later_pence=int(later.get(VisitStatus.SCHEDULED, 0)),
        short_pence=int(later.get(VisitStatus.SHORT, 0)),
    )


def budgets_for_citizen(citizen: User) -> list[PersonalBudget]:
    return list(
        db.session.execute(
            select(PersonalBudget).where(PersonalBudget.citizen_id == citizen.id).order_by(PersonalBudget.starts_on.desc())
        ).scalars()
    )


def get_budget(public_id: str) -> PersonalBudget:
    budget = db.session.execute(select(PersonalBudget).where(PersonalBudget.public_id == public_id)).scalar_one_or_none()
    if budget is None:
        raise NotFound("No such budget")
    return budget


def all_budgets() -> list[PersonalBudget]:
    return list(db.session.execute(select(PersonalBudget).order_by(PersonalBudget.id)).scalars())


# Statements ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementLine:
    at: dt.datetime
    description: str
    money_in_pence: int  # funding and adjustments into the budget
    held_pence: int  # set aside for a booking (out of available)
    released_pence: int  # back from a hold into available
    paid_pence: int  # paid to a provider out of held money
    # An ISF move: what moved to the new provider. The fund keeps it, so the money
    # available does not change: the line says how much went with the fund.
    moved_pence: int
    available_after_pence: int
    transaction_id: int | None = None
    kind: TransactionKind | None = None
    reversed: bool = False  # money in that was later reversed (the reversal is a line of its own)

    @property
    def in_pence(self) -> int:
        """What came into the money available (funding, releases; never a move)."""
        return max(self.money_in_pence, 0) + self.released_pence

    @property
    def out_pence(self) -> int:
        """What went out of the money available (set aside, money in reversed)."""
        return self.held_pence + max(-self.money_in_pence, 0)

    @property
    def reversible(self) -> bool:
        return self.kind in MONEY_IN and not self.reversed


@dataclass(frozen=True)
class Statement:
    budget: PersonalBudget
    starts_on: dt.date
    ends_on: dt.date  # exclusive
    opening_available_pence: int
    opening_held_pence: int
    lines: list[StatementLine]

    @property
    def money_in_pence(self) -> int:
        return sum(line.money_in_pence for line in self.lines)

    @property
    def held_pence(self) -> int:
        return sum(line.held_pence for line in self.lines)

    @property
    def released_pence(self) -> int:
        return sum(line.released_pence for line in self.lines)

    @property
    def paid_pence(self) -> int:
        return sum(line.paid_pence for line in self.lines)

    @property
    def moved_pence(self) -> int:
        return sum(line.moved_pence for line in self.lines)

    @property
    def closing_available_pence(self) -> int:
        return self.opening_available_pence + self.money_in_pence - self.held_pence + self.released_pence

    @property
    def closing_held_pence(self) -> int:
        return self.opening_held_pence + self.held_pence - self.released_pence - self.paid_pence

    @property
    def last_day(self) -> dt.date:
        return self.ends_on - dt.timedelta(days=1)


def statement(budget: PersonalBudget, starts_on: dt.date, ends_on: dt.date, *, known_at: dt.datetime | None = None) -> Statement:
    """Everything that happened to the budget between two dates (business time), as the
    ledger knew it at ``known_at`` (default: now)."""
    ids = [a.id for a in budget_accounts(budget)]
    start_at, end_at = local_midnight(starts_on), local_midnight(ends_on)

    def recorded(query):
        return query.where(LedgerTransaction.recorded_at <= known_at) if known_at else query

    opening_available = 0
    if ids:
        opening_available = int(
            db.session.execute(
                recorded(
                    select(func.coalesce(func.sum(LedgerEntry.amount_pence), 0))
                    .join(LedgerTransaction, LedgerEntry.transaction_id == LedgerTransaction.id)
                    .where(LedgerEntry.account_id.in_(ids), LedgerTransaction.effective_at < start_at)
                )
            ).scalar_one()
        )
    # Held at the start: holds placed before the start and not settled before it.
    placed = db.session.execute(
        recorded(
            select(LedgerHold, LedgerTransaction.effective_at)
            .join(LedgerTransaction, LedgerHold.placed_transaction_id == LedgerTransaction.id)
            .where(LedgerHold.budget_account_id.in_(ids or [-1]), LedgerTransaction.effective_at < end_at)
        )
    ).all()
    settled_at = {}
    settled_ids = [h.settled_transaction_id for h, _ in placed if h.settled_transaction_id]
    if settled_ids:
        settled_at = dict(
            db.session.execute(
                recorded(select(LedgerTransaction.id, LedgerTransaction.effective_at).where(LedgerTransaction.id.in_(settled_ids)))
            ).all()
        )
    opening_held = sum(
        h.amount_pence
        for h, placed_at in placed
        if placed_at < start_at and (h.settled_transaction_id not in settled_at or settled_at[h.settled_transaction_id] >= start_at)
    )

    rows = []
    if ids:
        rows = db.session.execute(
            recorded(
                select(LedgerTransaction, LedgerEntry.amount_pence)
                .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
                .where(
                    LedgerEntry.account_id.in_(ids),
                    LedgerTransaction.effective_at >= start_at,
                    LedgerTransaction.effective_at < end_at,
                )
                .order_by(LedgerTransaction.effective_at, LedgerTransaction.id)
            )
        ).all()
    # Sum each transaction's entries on the budget's accounts (an ISF move touches two or
    # more, and nets to zero: what it moved is what reached the new provider's account).
    per_transaction: dict[int, tuple[LedgerTransaction, int]] = {}
    moved_in: dict[int, int] = {}
    for transaction, amount in rows:
        _, total = per_transaction.get(transaction.id, (transaction, 0))
        per_transaction[transaction.id] = (transaction, total + amount)
        if amount > 0:
            moved_in[transaction.id] = moved_in.get(transaction.id, 0) + amount
    # Payments to providers come out of held money, so a visit paid in full touches no
    # budget account: add those settlements from the budget's own holds.
    captured_by_transaction = {
        h.settled_transaction_id: h.captured_pence for h, _ in placed if h.settled_transaction_id and h.captured_pence
    }
    missing = [tid for tid in captured_by_transaction if tid not in per_transaction]
    if missing:
        for transaction in db.session.execute(
            recorded(
                select(LedgerTransaction).where(
                    LedgerTransaction.id.in_(missing),
                    LedgerTransaction.effective_at >= start_at,
                    LedgerTransaction.effective_at < end_at,
                )
            )
        ).scalars():
            per_transaction[transaction.id] = (transaction, 0)
    ordered = sorted(per_transaction.values(), key=lambda pair: (pair[0].effective_at, pair[0].id))

    reversed_ids = set()
    money_in_ids = [t.id for t, _ in ordered if t.kind in MONEY_IN]
    if money_in_ids:
        reversed_ids = set(
            db.session.execute(
                recorded(select(LedgerTransaction.corrects_id).where(ledger.IS_REVERSAL, LedgerTransaction.corrects_id.in_(money_in_ids)))
            ).scalars()
        )
    lines: list[StatementLine] = []
    available = opening_available
    for transaction, net in ordered:
        money_in = held = released = paid = moved = 0
        if transaction.kind in (TransactionKind.FUNDING, TransactionKind.ADJUSTMENT):
            money_in = net
        elif transaction.kind is TransactionKind.HOLD:
            held = -net
        elif transaction.kind in (TransactionKind.CAPTURE, TransactionKind.RELEASE):
            released = net
            paid = captured_by_transaction.get(transaction.id, 0)
        elif transaction.kind is TransactionKind.ISF_TRANSFER:
            moved = moved_in.get(transaction.id, 0)
        else:
            money_in = net
        available += net
        lines.append(
            StatementLine(
                transaction.effective_at,
                transaction.memo or transaction.kind.value,
                money_in,
                held,
                released,
                paid,
                moved,
                available,
                transaction.id,
                transaction.kind,
                transaction.id in reversed_ids,
            )
        )
    return Statement(budget, starts_on, ends_on, opening_available, opening_held, lines)


def statement_periods(budget: PersonalBudget, policy: Policy, today: dt.date | None = None) -> list[tuple[dt.date, dt.date]]:
    """The 4-week periods from the budget's start to today (the UK date), newest first.
    (Money paid in ahead of a period counts from when it was paid, so it is on these.)"""
    today = today or uk_today()
    paid_in = latest_funded_period_end(budget) is not None
    first, _ = policy.period_containing(min(budget.starts_on, today) if paid_in else budget.starts_on)
    last, _ = policy.period_containing(min(today, budget.ends_on) if budget.ends_on else today)
    periods = []
    start = first
    while start <= last:
        periods.append((start, start + dt.timedelta(days=PERIOD_DAYS)))
        start += dt.timedelta(days=PERIOD_DAYS)
    return list(reversed(periods))


# Invariants for `flask ledger check` --------------------------------------------------------


def check_budgets() -> list[ledger.Problem]:
    problems = []
    for budget in all_budgets():
        figures = summary(budget)
        if not figures.balances:
            problems.append(
                ledger.Problem(
                    "budget adds up",
                    f"budget {budget.public_id}: available {figures.available_pence} + held {figures.held_pence} "
                    f"+ spent {figures.spent_pence} != funded {figures.funded_pence}",
                )
            )
            break
    mismatch = db.session.execute(
        select(BudgetPeriod.id)
        .join(LedgerTransaction, BudgetPeriod.transaction_id == LedgerTransaction.id)
        .join(LedgerEntry, and_(LedgerEntry.transaction_id == LedgerTransaction.id, LedgerEntry.amount_pence > 0))
        .where(LedgerEntry.amount_pence != BudgetPeriod.funded_pence)
        .limit(1)
    ).scalar()
    if mismatch:
        problems.append(ledger.Problem("funding matches its period", f"budget period {mismatch} was funded a different amount"))
    unfunded = db.session.execute(
        select(BudgetPeriod.id)
        .outerjoin(LedgerTransaction, BudgetPeriod.transaction_id == LedgerTransaction.id)
        .where(
            or_(
                LedgerTransaction.id.is_(None),
                LedgerTransaction.kind != TransactionKind.FUNDING,
                LedgerTransaction.cause_type != "personal_budget",
                LedgerTransaction.cause_id != BudgetPeriod.budget_id,
            )
        )
        .order_by(BudgetPeriod.id)
        .limit(1)
    ).scalar()
    if unfunded:
        problems.append(
            ledger.Problem("every budget period has its funding", f"budget period {unfunded} has no funding transaction of its own")
        )
    return problems
