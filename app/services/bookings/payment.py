"""How a booking is paid: the interface each way of paying implements, and the registry of
them. Start-up registers each way of paying (``app.services.payment_methods``), so nothing
in bookings imports budgets or card payments."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.database import write_transaction
from app.extensions import db
from app.models import (
    Booking,
    BookingVisit,
    HoldStatus,
    LedgerAccount,
    LedgerHold,
    LedgerTransaction,
    PaymentMethod,
    Service,
    TransactionKind,
    User,
    VisitStatus,
)
from app.services import ledger
from app.services.bookings.requests import BookingRequest, Funding, PlannedVisit, Quote
from app.services.ledger import Actor, HoldAlreadySettled


class PaymentStrategy:
    """How one way of paying moves money at each step of a booking's life.

    The booking functions call these hooks; each hook moves money only through the ledger
    (or, for cards, ``app.services.card_payments``). Hooks named ``after_*`` run after the
    booking's unit of work has committed, so they may talk to an outside processor.
    """

    def begin(self, request: BookingRequest) -> None:
        """Inside the booking's unit of work, before it is planned: take the locks paying
        this way needs to see the money as it is now."""

    def check_request(self, request: BookingRequest, *, service: Service, citizen: User, booker: User, errors: dict) -> Funding | None:
        """Add to ``errors`` anything about paying this way that stops the booking; return
        what the quote needs to know about the money (None: nothing)."""
        return None

    def check_quote(self, quote: Quote, funding: Funding) -> None:
        """Raise ValidationError if the planned visits cannot be paid for this way."""

    def new_visit_status(self, planned: PlannedVisit) -> VisitStatus:
        """The status a new booking's visit is made in: SCHEDULED, or HELD if ``on_create``
        will set its money aside in the same unit of work (or fail, undoing the booking)."""
        return VisitStatus.SCHEDULED

    def on_create(self, booking: Booking, *, request: BookingRequest, quote: Quote, visits, actor: Actor, now: dt.datetime) -> None:
        """Inside the booking's transaction: set money aside for the visits (``visits`` is
        a list of (BookingVisit, PlannedVisit))."""

    def tells_at_once(self) -> bool:
        """Whether nothing can undo a new booking once it is saved, so both sides are told in
        its own unit of work (otherwise ``after_create`` may still withdraw it)."""
        return False

    def after_create(self, booking: Booking, *, now: dt.datetime | None = None) -> None:
        """After the booking is saved (and again on a retry of the same request)."""

    def can_charge_late(self, visit: BookingVisit) -> bool:
        """Whether cancelling this upcoming visit inside the notice window is charged."""
        return visit.status is VisitStatus.HELD

    def can_deliver(self, visit: BookingVisit) -> bool:
        return visit.status is VisitStatus.HELD

    def release(self, booking: Booking, visit: BookingVisit, *, actor: Actor, memo: str, now: dt.datetime | None = None) -> None:
        """Inside a transaction: give back what was set aside for a visit that will not happen."""
        held = ledger.live_hold_for_visit(visit.id)
        if held is not None:
            ledger.settle_hold(held, capture_pence=0, payee=None, actor=actor, memo=memo, effective_at=now)

    def charge(self, booking: Booking, visit: BookingVisit, *, amount_pence: int, actor: Actor, now: dt.datetime, memo: str) -> None:
        """Inside a transaction: pay the provider ``amount_pence`` for a visit (delivered or
        cancelled late) from what was set aside; release the rest."""
        held = ledger.live_hold_for_visit(visit.id)
        if held is None:
            raise HoldAlreadySettled(f"no money is set aside for visit {visit.id}")
        ledger.settle_hold(
            held,
            capture_pence=amount_pence,
            payee=ledger.provider_payable_account(booking.provider),
            actor=actor,
            effective_at=now,
            memo=memo,
        )

    def take_back(self, booking: Booking, visit: BookingVisit, *, amount_pence: int, reason: str, by: User, key: str) -> None:
        """Give back ``amount_pence`` the provider was paid for a visit the council found was
        not delivered as recorded (a dispute upheld), in its own unit of work, once per
        ``key``: here, from what the provider is owed back to the budget it came from (a
        linked correction; if the provider was paid already its next run takes it off)."""
        with write_transaction():
            held = db.session.execute(
                select(LedgerHold)
                .where(LedgerHold.visit_id == visit.id, LedgerHold.status == HoldStatus.CAPTURED)
                .order_by(LedgerHold.id.desc())
                .limit(1)
            ).scalar_one_or_none()
            if held is None:
                raise HoldAlreadySettled(f"nothing was paid from a budget for visit {visit.id}")
            legs = [
                (ledger.provider_payable_account(booking.provider), -amount_pence),
                (db.session.get(LedgerAccount, held.budget_account_id), amount_pence),
            ]
            ledger.post(
                TransactionKind.CORRECTION,
                legs,
                key=key,
                cause=("booking_visit", visit.id),
                actor=Actor.person(by),
                memo=f"Taken back from {booking.provider.name} for {booking.reference}: {reason}",
                corrects=db.session.get(LedgerTransaction, held.settled_transaction_id) if held.settled_transaction_id else None,
            )

    def after_commit(self, booking: Booking) -> None:
        """After a decline, cancellation or delivery has committed."""

    def after_money_back(self, booking: Booking, *, actor: Actor) -> None:
        """After a step that gave money back (a decline, a cancellation in time, a visit
        delivered in part) has committed."""


_STRATEGIES: dict[PaymentMethod, PaymentStrategy] = {}


def register_payment_method(method: PaymentMethod, strategy: PaymentStrategy) -> None:
    """Make ``strategy`` the way bookings paid by ``method`` move money (at start-up)."""
    _STRATEGIES[method] = strategy


def payment_strategy(method: PaymentMethod) -> PaymentStrategy:
    try:
        return _STRATEGIES[method]
    except KeyError:
        raise LookupError(f"no way of paying is registered for {method.value}: create_app registers them") from None
