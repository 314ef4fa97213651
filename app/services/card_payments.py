"""Card payments through Stripe: the ONLY module that imports ``stripe``.

How a card booking is paid
--------------------------
* The payer (the citizen, or their representative) saves a card first: a Stripe
  SetupIntent confirmed in the browser by Stripe.js (``start_card_setup`` then
  ``finish_card_setup``). We record the card's brand, last four digits and its funding type
  (prepaid, debit, credit) as the card network reports it, and the route the payer told us
  (their council prepaid card for a direct payment, or their own money). A prepaid card is
  never refused for being prepaid.
* At booking, each visit that starts within ``AUTHORISE_WITHIN`` (Stripe keeps a card
  authorisation for 7 days; we leave two for recording the visit) is authorised on the card
  (a PaymentIntent with manual capture). Later visits are charged off-session to the saved
  card when the provider records them as delivered. A declined authorisation withdraws the
  booking and says why, in words a person can act on.
* Delivery captures the visit's money (in part, if fewer units were delivered); a
  declined booking or a cancellation in time cancels the authorisation; a late cancellation
  is charged. An authorisation that lapsed, or a capture Stripe refuses, is released and the
  visit charged to the saved card instead. A charge that fails marks the visit UNPAID: the
  person is told how to pay (``pay_unpaid_visit``), and ``unpaid_visits`` never loses what
  is owed (``flask ledger check`` reports a delivered card visit that is neither paid, nor
  unpaid, nor being paid).
* Refunds: a provider or commissioner gives money back for a visit, whole or part, with a
  reason (``refund_visit``). A refund stays PENDING until Stripe says it succeeded (its
  answer, a ``charge.refund.updated``/``refund.updated``/``refund.failed`` webhook, or
  ``flask payments retry`` asking).
* Paid twice: a payment we had recorded as failed can still succeed later. If the visit was
  paid meanwhile, the provider is credited once and the duplicate is refunded to the card
  automatically (an ``automatic`` CardRefund, in the audit trail, both sides told).

Money in the ledger
-------------------
Every card movement is mirrored in the ledger, so reports see card spend as they see
budget spend. Each saved card has a SELF_FUNDED account (money from the card holder; it
goes negative by what the card paid). An authorisation is a ledger hold from that account
into the booking's hold account, so "committed" means the same for cards and budgets. A
capture moves the held money into the CARD_CLEARING account (a CARD_PAYMENT: card money
taken by the card processor), releases the rest to the card, and passes it on to what is
owed to the provider (a CAPTURE, as for budgets). A refund takes the money back from the
provider into the clearing account when it is asked for (so it cannot be paid out twice),
and out to the card when Stripe confirms it (a CARD_REFUND); if Stripe refuses, it goes
back to the provider (a correction linked to the one that took it). So the clearing account
holds exactly the refunds in flight (and any automatic refund of a double payment Stripe
would not make: that money never reached the provider and is owed to the card holder).
We post at request rather than at success so that the provider cannot be paid out money
that is being refunded; the card is credited only once the refund really reached it.

Never charged twice
-------------------
Every request that moves money is a ``PaymentAttempt`` row with a key derived from our
own operation ("card-payment:7:capture"), committed before the request is made; the
Stripe idempotency key is derived from it. A retry (double click, timeout, crash and
re-run) finds the same row: if it finished, its recorded answer is used and Stripe is not
asked again; if its outcome was never recorded, we first *look at Stripe* for what that
earlier request did (the PaymentIntent's state, or the refund carrying our key in its
metadata) and ask again only if it did nothing. A lease on the row stops two processes
working on it at once; every request to Stripe times out well inside it (``CALL_BUDGET``),
and the lease is renewed before a request if less than that is left, so no request outlives
its lease. Stripe itself also de-duplicates on the idempotency key; we do not rely on it
(localstripe ignores it).

Stripe's answers: a network error, a 5xx or a rate limit is an unknown outcome
(ProcessorUnavailable: retried later); anything else is a definite no (ProcessorRefused,
or CardDeclined for the person), recorded as such, never an error page.

Webhooks (``handle_webhook``) record each event id once and only ever move a payment
forward (started → requires action → failed → authorised → captured/cancelled), so a
replayed or late event changes nothing.

One lock order, one visit state machine
---------------------------------------
Whatever records what Stripe did (an attempt's answer, a webhook, a refresh) and every
round of card work locks the booking, then its visits, then the payment
(``_lock_payment``): the order every step in ``bookings`` keeps. A visit's status changes
only through the visit state machine there (``bookings.try_move_visit``: a conditional
update), so a webhook or ``flask payments retry`` never overwrites what a person changed at
the same moment; the card side does what the money needs instead. An authorisation that
arrives for a visit cancelled or declined meanwhile is recorded and its cancellation at
Stripe recorded with it (made by the next round of card work); money taken for a visit no
longer owed is refunded automatically (as when paid twice); a failed charge marks a visit
unpaid only if it is still delivered (or cancelled late) and still owed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

import stripe
from flask import current_app
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from app.database import utcnow, write_transaction
from app.extensions import db
from app.formatting import format_datetime, format_pence
from app.models import (
    AccountKind,
    AttemptOperation,
    AttemptState,
    Booking,
    BookingCard,
    BookingStatus,
    BookingVisit,
    CardCustomer,
    CardFunding,
    CardPayment,
    CardPaymentKind,
    CardPaymentStatus,
    CardRefund,
    CardSetup,
    CardSetupStatus,
    FundingRoute,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    PaymentAttempt,
    PaymentCard,
    RefundStatus,
    Role,
    StripeEvent,
    TransactionKind,
    User,
    VisitStatus,
)
from app.services import audit, bookings, ledger
from app.services.errors import Conflict, DomainError, NotFound, ValidationError
from app.services.ledger import Actor

log = logging.getLogger(__name__)

CURRENCY = "gbp"
# Stripe keeps an online card authorisation for 7 days: authorise visits that start within
# 5, leaving two days for the provider to record the visit before it lapses.
AUTHORISE_WITHIN = dt.timedelta(days=5)
LEASE = dt.timedelta(seconds=60)  # how long one process may work on an attempt
WAIT_FOR_OTHER = 15.0  # seconds a double submission waits for the first to finish
# Every request to Stripe gives up well inside a lease, so a slow request can never outlive
# the lease of the attempt it belongs to (and a second worker repeat it). The Stripe library
# would otherwise wait 80 seconds. Before each request the lease is renewed if less than one
# request's worst case is left (``_renew_lease_if_short``).
STRIPE_CONNECT_TIMEOUT = 5.0  # seconds
STRIPE_READ_TIMEOUT = 15.0  # seconds
STRIPE_NETWORK_RETRIES = 0  # no automatic retries: a retry is a decision made with our own attempt record
CALL_BUDGET = dt.timedelta(seconds=(STRIPE_CONNECT_TIMEOUT + STRIPE_READ_TIMEOUT) * (STRIPE_NETWORK_RETRIES + 1))
LOOK_BACK = dt.timedelta(minutes=10)  # clock skew allowed when looking for an earlier request
MAX_REASON = 500


# Errors ---------------------------------------------------------------------------------------


class CardPaymentsNotConfigured(DomainError):
    def __init__(self):
        super().__init__(
            "Card payments are not set up on this marketplace yet, so you cannot pay by card. "
            "Pay from a personal budget, or contact the council."
        )


class CardDeclined(ValidationError):
    """The card was refused. ``errors["card"]`` says what to do."""

    def __init__(self, message: str):
        super().__init__({"card": message})
        self.message = message


class PaymentInProgress(Conflict):
    """Another request is working on this payment right now."""


class ProcessorUnavailable(DomainError):
    """Stripe could not be reached or answered with an error; the outcome is not known yet
    and will be settled by a retry (``flask payments retry``)."""


class ProcessorRefused(DomainError):
    """Stripe gave a definite no (a declined card, a missing or refused object, a permission
    or idempotency error): asking again with the same request changes nothing.
    ``error`` is Stripe's own error, ``code`` its code (e.g. ``resource_missing``)."""

    def __init__(self, message: str, error: stripe.StripeError):
        super().__init__(message)
        self.error = error
        self.code = getattr(error, "code", None) or getattr(getattr(error, "error", None), "code", None)
        # The object the request named does not exist (any more) at Stripe.
        self.missing = self.code == "resource_missing" or getattr(error, "http_status", None) == 404


class _LeaseLost(Exception):
    """Another process took over the attempt we were working on: stop before asking Stripe."""


def check_timing(lease: dt.timedelta = LEASE, call_budget: dt.timedelta = CALL_BUDGET) -> None:
    """A lease must outlast one request to Stripe at its slowest (every timeout, every retry);
    otherwise a second worker could take the attempt over while the first one's request is
    still in flight and send it again. Checked when this module is loaded (start-up)."""
    if lease <= call_budget:
        raise RuntimeError(
            f"card payments: the attempt lease ({lease.total_seconds():.0f}s) must be longer than one Stripe request "
            f"can take ({call_budget.total_seconds():.0f}s: timeouts x (network retries + 1))"
        )
    if dt.timedelta(seconds=WAIT_FOR_OTHER) >= lease:
        raise RuntimeError("card payments: a double submission must give up waiting before the lease ends")


check_timing()


# Configuration --------------------------------------------------------------------------------


def is_configured() -> bool:
    config = current_app.config
    return bool(config.get("STRIPE_SECRET_KEY") and config.get("STRIPE_PUBLISHABLE_KEY"))


def require_configured() -> None:
    if not is_configured():
        raise CardPaymentsNotConfigured()


def publishable_key() -> str:
    require_configured()
    return current_app.config["STRIPE_PUBLISHABLE_KEY"]


def stripe_js_url() -> str:
    """Where the browser loads Stripe.js (localstripe serves a look-alike in the demo)."""
    base = current_app.config.get("STRIPE_API_BASE")
    return f"{base}/js.stripe.com/v3/" if base else "https://js.stripe.com/v3/"


def _client() -> stripe.StripeClient:
    require_configured()
    config = current_app.config
    options: dict[str, Any] = {}
    if config.get("STRIPE_API_BASE"):
        options["base_addresses"] = {"api": config["STRIPE_API_BASE"]}
    http_client = stripe.RequestsClient(timeout=(STRIPE_CONNECT_TIMEOUT, STRIPE_READ_TIMEOUT))
    return stripe.StripeClient(config["STRIPE_SECRET_KEY"], max_network_retries=STRIPE_NETWORK_RETRIES, http_client=http_client, **options)


def _field(obj, name: str, default=None):
    """A field of a Stripe object (or a plain dict), or ``default`` if it is absent."""
    if obj is None:
        return default
    try:
        # A StripeObject answers `in` and `[]` but refuses `.get`.
        return obj[name] if name in obj else default  # noqa: SIM401
    except (KeyError, TypeError):
        return default


def _new_public_id() -> str:
    return secrets.token_urlsafe(12)


# Cards ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardDetails:
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    funding: CardFunding


def card_details(payment_method) -> CardDetails:
    """What we keep about a card, from a Stripe PaymentMethod (or a legacy Card object)."""
    card = payment_method["card"] if "card" in payment_method and payment_method["card"] is not None else payment_method
    try:
        funding = CardFunding(str(card["funding"]).lower())
    except (KeyError, ValueError):
        funding = CardFunding.UNKNOWN
    return CardDetails(
        brand=str(card["brand"] or "card").lower(),
        last4=str(card["last4"]),
        exp_month=int(card["exp_month"]),
        exp_year=int(card["exp_year"]),
        funding=funding,
    )


def _customer_for(payer: User) -> str:
    """The payer's Stripe customer id, created once (a spare customer from a crash holds no money)."""
    found = db.session.execute(select(CardCustomer).where(CardCustomer.user_id == payer.id)).scalar_one_or_none()
    if found is not None:
        return found.stripe_customer_id
    customer = _call(
        lambda c: c.v1.customers.create(
            params={"email": payer.email, "name": payer.name, "metadata": {"marketplace_user": str(payer.id)}},
            options={"idempotency_key": _customer_key(payer)},
        )
    )
    try:
        with write_transaction():
            db.session.add(CardCustomer(user_id=payer.id, stripe_customer_id=customer.id))
    except IntegrityError:
        db.session.rollback()
        return db.session.execute(select(CardCustomer.stripe_customer_id).where(CardCustomer.user_id == payer.id)).scalar_one()
    return customer.id


def _customer_key(payer: User, replacing: str | None = None) -> str:
    key = f"marketplace:user:{payer.id}:{int(payer.created_at.timestamp() * 1e6)}:customer"
    return key if replacing is None else f"{key}:replacing:{replacing}"


def _replace_customer(payer: User, missing_id: str) -> str:
    """Stripe no longer has the payer's customer (deleted in the Stripe dashboard, or the
    account's test data cleared): make a new one. The cards saved on the old one went with
    it, so they are taken off the payer's list (bookings they paid keep their record)."""
    customer = _call(
        lambda c: c.v1.customers.create(
            params={"email": payer.email, "name": payer.name, "metadata": {"marketplace_user": str(payer.id)}},
            options={"idempotency_key": _customer_key(payer, replacing=missing_id)},
        )
    )
    with write_transaction():
        table = CardCustomer.__table__
        db.session.execute(
            update(table)
            .where(table.c.user_id == payer.id, table.c.stripe_customer_id == missing_id)
            .values(stripe_customer_id=customer.id)
        )
        now = utcnow()
        for card in db.session.execute(
            select(PaymentCard).where(PaymentCard.owner_id == payer.id, PaymentCard.removed_at.is_(None))
        ).scalars():
            card.removed_at = now
    log.warning("Stripe customer %s of user %s was missing: replaced by %s", missing_id, payer.id, customer.id)
    return db.session.execute(select(CardCustomer.stripe_customer_id).where(CardCustomer.user_id == payer.id)).scalar_one()


def start_card_setup(payer: User) -> CardSetup:
    """Begin saving a card: a SetupIntent whose client secret Stripe.js confirms in the browser."""
    require_configured()
    public_id = _new_public_id()  # our own operation: the idempotency key is derived from it
    customer_id = _customer_for(payer)

    def create(customer: str):
        return _call(
            lambda c: c.v1.setup_intents.create(
                params={
                    "customer": customer,
                    "usage": "off_session",
                    "payment_method_types": ["card"],
                    "metadata": {"marketplace_user": str(payer.id), "marketplace_setup": public_id},
                },
                options={"idempotency_key": f"marketplace:card-setup:{public_id}:{customer}"},
            )
        )

    try:
        intent = create(customer_id)
    except ProcessorRefused as exc:
        if not exc.missing:
            raise
        intent = create(_replace_customer(payer, customer_id))
    with write_transaction():
        setup = CardSetup(
            public_id=public_id,
            user_id=payer.id,
            stripe_setup_intent_id=intent.id,
            client_secret=intent.client_secret,
            status=CardSetupStatus.STARTED,
        )
        db.session.add(setup)
    return setup


def finish_card_setup(setup_public_id: str, *, payer: User, route: FundingRoute) -> PaymentCard:
    """After Stripe.js confirmed the SetupIntent: check it with Stripe and save the card.

    ``route`` is what the payer told us: FundingRoute.PREPAID_CARD (their council prepaid
    card, a direct payment) or FundingRoute.SELF_FUNDER (their own money). Safe to repeat.
    """
    if route not in (FundingRoute.PREPAID_CARD, FundingRoute.SELF_FUNDER):
        raise ValidationError({"route": "Choose whether this is your council prepaid card or your own card"})
    setup = db.session.execute(
        select(CardSetup).where(CardSetup.public_id == setup_public_id, CardSetup.user_id == payer.id)
    ).scalar_one_or_none()
    if setup is None:
        raise NotFound("No such card set-up")
    if setup.status is CardSetupStatus.SAVED:
        return db.session.get(PaymentCard, setup.card_id)
    intent = _call(lambda c: c.v1.setup_intents.retrieve(setup.stripe_setup_intent_id))
    if intent.status != "succeeded" or not intent.payment_method:
        # Declined: localstripe cancels the SetupIntent; Stripe asks for another card and
        # says why (last_setup_error). Never confirmed at all: the person can still enter it.
        if intent.status == "canceled" or (intent.status == "requires_payment_method" and _field(intent, "last_setup_error")):
            with write_transaction():
                db.session.get(CardSetup, setup.id).status = CardSetupStatus.FAILED
            raise CardDeclined(
                "Your card could not be saved: your bank declined it. Check the card number, expiry date and "
                "security code, or try another card."
            )
        raise CardDeclined("Your card has not been confirmed yet. Enter your card details and try again.")
    customer_id = db.session.execute(select(CardCustomer.stripe_customer_id).where(CardCustomer.user_id == payer.id)).scalar_one()
    method = _call(lambda c: c.v1.payment_methods.retrieve(intent.payment_method))
    details = card_details(method)
    if method.customer != customer_id:
        # Stripe attaches it when the SetupIntent has a customer; some servers leave it to us.
        def attach(customer: str):
            return _call(
                lambda c: c.v1.payment_methods.attach(
                    method.id,
                    params={"customer": customer},
                    options={"idempotency_key": f"marketplace:card-setup:{setup.public_id}:attach:{customer}"},
                )
            )

        try:
            attach(customer_id)
        except ProcessorRefused as exc:
            if not exc.missing:
                raise
            attach(_replace_customer(payer, customer_id))  # the customer is gone at Stripe
    with write_transaction():
        setup = db.session.get(CardSetup, setup.id)
        card = db.session.execute(select(PaymentCard).where(PaymentCard.stripe_payment_method_id == method.id)).scalar_one_or_none()
        if card is None:
            card = PaymentCard(
                public_id=_new_public_id(),
                owner_id=payer.id,
                stripe_payment_method_id=method.id,
                brand=details.brand,
                last4=details.last4,
                exp_month=details.exp_month,
                exp_year=details.exp_year,
                funding=details.funding,
                route=route,
            )
            db.session.add(card)
            db.session.flush()
        setup.status = CardSetupStatus.SAVED
        setup.card_id = card.id
    return card


def saved_cards(payer: User) -> list[PaymentCard]:
    return list(
        db.session.execute(
            select(PaymentCard)
            .where(PaymentCard.owner_id == payer.id, PaymentCard.removed_at.is_(None))
            .order_by(PaymentCard.created_at.desc())
        ).scalars()
    )


def _owned_card(public_id: str, owner_id: int) -> PaymentCard | None:
    return db.session.execute(
        select(PaymentCard).where(PaymentCard.public_id == public_id, PaymentCard.owner_id == owner_id, PaymentCard.removed_at.is_(None))
    ).scalar_one_or_none()


def get_card(public_id: str, *, owner: User) -> PaymentCard:
    card = _owned_card(public_id, owner.id)
    if card is None:
        raise NotFound("No such card")
    return card


def card_account(card: PaymentCard) -> LedgerAccount:
    owner = card.owner or db.session.get(User, card.owner_id)
    return ledger.account(AccountKind.SELF_FUNDED, f"card:{card.id}", f"Paid by {card.description} ({owner.name})"[:200])


def clearing_account() -> LedgerAccount:
    return ledger.account(AccountKind.CARD_CLEARING, "stripe", "Card payments in transit (card processor)")


# The booking strategy -------------------------------------------------------------------------


class CardBookingPayment(bookings.PaymentStrategy):
    """Paying for a booking with a saved card (see the module docstring)."""

    def check_request(self, request, *, service, citizen, booker, errors):
        if not is_configured():
            errors["payment"] = str(CardPaymentsNotConfigured())
            return
        routes = [r for r in (FundingRoute.PREPAID_CARD, FundingRoute.SELF_FUNDER) if service.accepts(r)]
        if not routes:
            errors["payment"] = f"{service.provider.name} does not take card payments for this service"
            return
        if request.card_public_id is None:
            return  # a quote before the card is chosen; booking needs one (on_create)
        card = _owned_card(request.card_public_id, booker.id)
        if card is None:
            errors["card"] = "Choose one of your saved cards, or add a card"
        elif card.route not in routes:
            if card.route is FundingRoute.PREPAID_CARD:
                errors["card"] = f"{service.provider.name} does not take council prepaid cards for this service. Choose another card"
            else:
                errors["card"] = (
                    f"{service.provider.name} only takes council prepaid cards (direct payments) for this service. Choose your prepaid card"
                )

    def on_create(self, booking, *, request, quote, visits, actor, now):
        if request.card_public_id is None:
            raise ValidationError({"card": "Choose a card to pay with"})
        card = db.session.execute(select(PaymentCard).where(PaymentCard.public_id == request.card_public_id)).scalar_one()
        db.session.add(BookingCard(booking_id=booking.id, card_id=card.id))
        for visit, _planned in visits:
            if visit.starts_at - now <= AUTHORISE_WITHIN:
                _new_payment(visit, booking, card, CardPaymentKind.AUTHORISE, visit.amount_pence, key=f"visit:{visit.id}:authorise")

    def after_create(self, booking, *, now=None):
        settle_booking(booking)
        booking = db.session.get(Booking, booking.id)
        failed = (
            db.session.execute(
                select(CardPayment)
                .where(
                    CardPayment.booking_id == booking.id,
                    CardPayment.kind == CardPaymentKind.AUTHORISE,
                    CardPayment.status == CardPaymentStatus.FAILED,
                )
                .order_by(CardPayment.id)
            )
            .scalars()
            .first()
        )
        if failed is None:
            return
        if booking.status is BookingStatus.REQUESTED:
            message = failed.failure_message or _decline_message(None, None, failed.amount_pence)
            bookings.withdraw_unpaid(booking, message=f"Not booked: the card payment failed. {message}")
            settle_booking(booking)  # cancel any authorisation that did succeed
        raise CardDeclined(f"Your booking has not been made. {failed.failure_message}")

    def can_charge_late(self, visit):
        return visit.status in (VisitStatus.SCHEDULED, VisitStatus.HELD)

    def can_deliver(self, visit):
        return visit.status in (VisitStatus.SCHEDULED, VisitStatus.HELD)

    def release(self, booking, visit, *, actor, memo, now=None):
        """The authorisation (if any) is cancelled with Stripe after the booking's change
        commits (``after_commit``); its ledger hold is released when Stripe confirms."""

    def charge(self, booking, visit, *, amount_pence, actor, now, memo):
        """Claim the visit (so two deliveries cannot both charge); the card is captured or
        charged after the booking's change commits."""
        table = BookingVisit.__table__
        claimed = db.session.execute(
            update(table)
            .where(table.c.id == visit.id, table.c.status.in_([VisitStatus.SCHEDULED.value, VisitStatus.HELD.value]))
            .values(charged_pence=amount_pence)
        ).rowcount
        if claimed != 1:
            raise ledger.HoldAlreadySettled(f"visit {visit.id} was already settled")
        db.session.expire(visit, ["charged_pence"])

    def after_commit(self, booking):
        """The booking's change has committed and stands whatever Stripe says: the card work
        it calls for is done now if it can be, and otherwise left recorded for
        ``flask payments retry`` (or marked: a failed charge makes the visit unpaid)."""
        try:
            settle_booking(booking)
        except DomainError as exc:
            db.session.rollback()
            log.warning("card work for booking %s left for `flask payments retry`: %s", booking.id, exc)


CARD_PAYMENT = CardBookingPayment()


def _new_payment(visit: BookingVisit, booking: Booking, card: PaymentCard, kind: CardPaymentKind, amount: int, *, key: str) -> CardPayment:
    """Record a payment and its first attempt (inside the caller's transaction)."""
    payment = CardPayment(
        public_id=_new_public_id(),
        visit_id=visit.id,
        booking_id=booking.id,
        card_id=card.id,
        kind=kind,
        status=CardPaymentStatus.STARTED,
        funding=card.funding,
        route=card.route,
        amount_pence=amount,
    )
    db.session.add(payment)
    db.session.flush()
    db.session.add(
        PaymentAttempt(key=key, operation=AttemptOperation.PAY, state=AttemptState.STARTED, card_payment_id=payment.id, amount_pence=amount)
    )
    db.session.flush()
    return payment


def _locked(model, row_id: int):
    """One row of ``model``, locked for the rest of the unit of work (PostgreSQL: FOR NO KEY
    UPDATE of that table only; SQLite: the unit of work holds the write lock) and read as it
    is now."""
    query = select(model).where(model.id == row_id).with_for_update(of=model, key_share=True)
    return db.session.execute(query.execution_options(populate_existing=True)).scalar_one()


def _lock_payment(payment_id: int) -> CardPayment:
    """Inside a unit of work, before anything that may change a card payment, its visit or
    its booking: lock the booking and its visits (``bookings.lock_booking``), then the
    payment (money comes last), the one order every booking step keeps. A webhook, a
    recorded Stripe answer and a cancellation of the same visit then take turns, and each
    decides on what is true now. Returns the payment as it is now."""
    booking_id = db.session.execute(select(CardPayment.booking_id).where(CardPayment.id == payment_id)).scalar_one()
    bookings.lock_booking(booking_id)
    return _locked(CardPayment, payment_id)


# Bringing a booking's card payments in line with its visits ------------------------------------


def settle_booking(booking: Booking) -> None:
    """Do every piece of card work the booking's visits call for, and finish any attempt
    left unfinished. Safe to run at any time, any number of times."""
    if not is_configured():
        return
    # A refused capture leads to a cancellation, then a charge: up to three rounds of work.
    busy: set[int] = set()  # attempts another process is working on: left to it
    for _ in range(6):
        _plan_work(booking.id)
        pending = [
            attempt_id
            for attempt_id in db.session.execute(
                select(PaymentAttempt.id)
                .join(CardPayment, PaymentAttempt.card_payment_id == CardPayment.id)
                .where(CardPayment.booking_id == booking.id, PaymentAttempt.state == AttemptState.STARTED)
                .order_by(PaymentAttempt.id)
            ).scalars()
            if attempt_id not in busy
        ]
        if not pending:
            return
        for attempt_id in pending:
            try:
                run_attempt(attempt_id)
            except PaymentInProgress:
                busy.add(attempt_id)
            except ProcessorUnavailable:
                log.warning("card processor unavailable for attempt %s: left for `flask payments retry`", attempt_id)
                return


def _plan_work(booking_id: int) -> None:
    """Record (before any call) the captures, charges and cancellations the visits need."""
    with write_transaction():
        link = db.session.get(BookingCard, booking_id)
        if link is None:
            return
        # The booking, then its visits, then its payments: decided on what is true now.
        booking = bookings.lock_booking(booking_id)
        for visit in booking.visits:
            charged = visit.status in (VisitStatus.DELIVERED, VisitStatus.LATE_CANCELLED)
            if not charged and visit.status not in (VisitStatus.CANCELLED, VisitStatus.DECLINED):
                continue  # coming up, or unpaid (its payer has been asked to pay): nothing to do
            payments = (
                db.session.execute(select(CardPayment).where(CardPayment.visit_id == visit.id).order_by(CardPayment.id)).scalars().all()
            )
            open_payment = next((p for p in payments if p.status.is_open), None)
            due = visit.charged_pence
            if not charged or sum(p.captured_pence for p in payments) >= due:
                # Declined, cancelled in time, or paid: nothing may stay reserved on the card
                # (a late authorisation included).
                if open_payment is not None and open_payment.status in (CardPaymentStatus.AUTHORISED, CardPaymentStatus.REQUIRES_ACTION):
                    _ensure_attempt(open_payment, AttemptOperation.CANCEL)
            elif open_payment is None:
                charges = [p for p in payments if p.kind is CardPaymentKind.CHARGE]
                if not charges:
                    _new_payment(visit, booking, link.card, CardPaymentKind.CHARGE, due, key=f"visit:{visit.id}:charge")
                else:
                    _mark_unpaid(visit, booking, charges[-1])
            elif open_payment.status is CardPaymentStatus.REQUIRES_ACTION:
                _ensure_attempt(open_payment, AttemptOperation.CANCEL)
            elif open_payment.status is CardPaymentStatus.AUTHORISED:
                capture = _attempt(open_payment, AttemptOperation.CAPTURE)
                if capture is None:
                    _ensure_attempt(open_payment, AttemptOperation.CAPTURE, due)
                elif capture.state is AttemptState.FAILED:
                    # The processor refused the capture: release the reservation, then
                    # charge the saved card (the next round, once it is released).
                    _ensure_attempt(open_payment, AttemptOperation.CANCEL)


def _attempt_key(payment: CardPayment, operation: AttemptOperation) -> str:
    """The one capture or cancellation a payment can have."""
    return f"card-payment:{payment.id}:{operation.value}"


def _attempt(payment: CardPayment, operation: AttemptOperation) -> PaymentAttempt | None:
    return db.session.execute(select(PaymentAttempt).where(PaymentAttempt.key == _attempt_key(payment, operation))).scalar_one_or_none()


def _ensure_attempt(payment: CardPayment, operation: AttemptOperation, amount: int | None = None) -> None:
    """Record the capture (of ``amount``) or cancellation of a payment, once, for the next
    round of card work to carry out."""
    if _attempt(payment, operation) is None:
        db.session.add(
            PaymentAttempt(
                key=_attempt_key(payment, operation),
                operation=operation,
                state=AttemptState.STARTED,
                card_payment_id=payment.id,
                amount_pence=amount,
            )
        )
        db.session.flush()


def _mark_unpaid(visit: BookingVisit, booking: Booking, payment: CardPayment) -> None:
    """A card charge for a delivered (or late-cancelled) visit failed: the visit is owed and
    its payer asked to pay. The booking is locked (``_lock_payment``); nothing happens if the
    visit was paid meanwhile (a late success, "Pay now") or is no longer delivered or
    cancelled late: a conditional move, never an overwrite."""
    if amount_owed(visit) <= 0:
        return
    if not bookings.try_move_visit(visit, (VisitStatus.DELIVERED, VisitStatus.LATE_CANCELLED), VisitStatus.UNPAID):
        return
    payer = db.session.get(User, payment.card.owner_id)
    bookings.record_event(
        booking,
        "payment_failed",
        f"Card payment of {format_pence(visit.charged_pence)} for the visit on {format_datetime(visit.starts_at)} failed: "
        f"{payment.failure_message or 'the card was declined'} {payer.name} has been asked to pay.",
        None,
    )
    _pending.notifications.append((booking.id, "payment_failed"))


class _Pending(threading.local):
    def __init__(self):
        self.notifications: list[tuple[int, str]] = []


_pending = _Pending()


# Running one attempt --------------------------------------------------------------------------


@dataclass
class _Outcome:
    state: AttemptState
    intent: Any = None  # the PaymentIntent as Stripe last showed it
    refund: Any = None
    code: str | None = None
    decline_code: str | None = None
    message: str | None = None
    declined: bool = True  # the bank refused the card (not the card processor refusing our request)


def run_attempt(attempt_id: int, *, wait: bool = True) -> PaymentAttempt:
    """Carry out one recorded attempt exactly once, whoever calls and however often."""
    deadline = time.monotonic() + WAIT_FOR_OTHER
    while True:
        db.session.rollback()
        attempt = db.session.get(PaymentAttempt, attempt_id)
        db.session.refresh(attempt)
        if attempt.state is not AttemptState.STARTED:
            return attempt
        claimed = _claim(attempt_id)
        if claimed is not None:
            token, claimed_until = claimed
            break
        if not wait or time.monotonic() > deadline:
            raise PaymentInProgress("This payment is being processed. Wait a moment, then refresh the page.")
        time.sleep(0.1)
    _lease.attempt_id, _lease.token, _lease.until = attempt_id, token, claimed_until
    try:
        attempt = db.session.get(PaymentAttempt, attempt_id)
        db.session.refresh(attempt)
        try:
            outcome = _perform(attempt)
        except _LeaseLost:
            db.session.rollback()
            raise PaymentInProgress("This payment is being processed. Wait a moment, then refresh the page.") from None
        finally:
            _lease.attempt_id = _lease.token = _lease.until = None
        _record(attempt.id, token, outcome)
    finally:
        _drop_lease(attempt_id, token)
    _send_notifications()
    return db.session.get(PaymentAttempt, attempt_id)


def _claim(attempt_id: int) -> tuple[str, dt.datetime] | None:
    """Take the lease on an attempt: (our token, until when) or None if someone holds it."""
    token = secrets.token_hex(8)
    now = utcnow()
    table = PaymentAttempt.__table__
    with write_transaction():
        claimed = db.session.execute(
            update(table)
            .where(
                table.c.id == attempt_id,
                table.c.state == AttemptState.STARTED.value,
                or_(table.c.lease_until.is_(None), table.c.lease_until < now),
            )
            .values(lease_token=token, lease_until=now + LEASE, tries=table.c.tries + 1)
        ).rowcount
    return (token, now + LEASE) if claimed == 1 else None


def _drop_lease(attempt_id: int, token: str) -> None:
    db.session.rollback()
    table = PaymentAttempt.__table__
    with write_transaction():
        db.session.execute(
            update(table).where(table.c.id == attempt_id, table.c.lease_token == token).values(lease_token=None, lease_until=None)
        )


def _call(request):
    """Make one request to Stripe. An unknown outcome (network, 5xx, rate limit, our key
    refused) raises ProcessorUnavailable: a retry settles it. Any other Stripe error is a
    definite answer and raises ProcessorRefused, which callers turn into a clear outcome
    (never a stray exception, so never an error page)."""
    _renew_lease_if_short()
    try:
        return request(_client())
    except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
        raise ProcessorUnavailable("We could not reach the card processor. Nothing has been lost: we will try again.") from exc
    except stripe.APIError as exc:
        raise ProcessorUnavailable("The card processor had a problem. Nothing has been lost: we will try again.") from exc
    except stripe.AuthenticationError as exc:
        log.error("Stripe rejected our API key: check STRIPE_SECRET_KEY")
        raise ProcessorUnavailable("Card payments are not working at the moment. Try again later.") from exc
    except stripe.CardError as exc:
        raise ProcessorRefused(_decline_message(exc.code, _decline_code(exc), None), exc) from exc
    except stripe.StripeError as exc:
        log.warning("Stripe refused a request: %s (%s)", type(exc).__name__, getattr(exc, "code", None))
        raise ProcessorRefused(
            "The card processor refused this request, so nothing has been charged. Try again, or contact the council if it happens again.",
            exc,
        ) from exc


def _decline_code(exc: stripe.StripeError) -> str | None:
    error = getattr(exc, "error", None)
    return getattr(error, "decline_code", None) if error else None


class _Lease(threading.local):
    """The attempt this thread is working on, and until when its lease runs."""

    def __init__(self):
        self.attempt_id: int | None = None
        self.token: str | None = None
        self.until: dt.datetime | None = None


_lease = _Lease()


def _renew_lease_if_short() -> None:
    """Before a request that belongs to an attempt: if less than one request's worst case is
    left on our lease, extend it (only if it is still ours), so no request outlives it."""
    if _lease.attempt_id is None:
        return
    now = utcnow()
    if _lease.until - now >= CALL_BUDGET:
        return
    table = PaymentAttempt.__table__
    until = now + LEASE
    with write_transaction():
        renewed = db.session.execute(
            update(table)
            .where(table.c.id == _lease.attempt_id, table.c.lease_token == _lease.token, table.c.state == AttemptState.STARTED.value)
            .values(lease_until=until)
        ).rowcount
    if renewed != 1:
        raise _LeaseLost(f"attempt {_lease.attempt_id} was taken over by another process")
    _lease.until = until


def _idempotency_key(attempt: PaymentAttempt, payment: CardPayment) -> str:
    """Derived from our operation; the payment's random public id keeps it unique across
    databases that share one Stripe account (staging and live, or test runs)."""
    return f"marketplace:{payment.public_id}:{attempt.key}"


def _perform(attempt: PaymentAttempt) -> _Outcome:
    payment = db.session.get(CardPayment, attempt.card_payment_id)
    operation = {
        AttemptOperation.PAY: _perform_pay,
        AttemptOperation.CAPTURE: _perform_capture,
        AttemptOperation.CANCEL: _perform_cancel,
        AttemptOperation.REFUND: _perform_refund,
    }[attempt.operation]
    try:
        return operation(attempt, payment, earlier_try=attempt.tries > 1)
    except ProcessorRefused as exc:
        # A definite refusal of any request the operation made (a lookup included): the
        # attempt is finished as failed, and the card work moves on from there.
        return _failure(exc.error)


def _failure(exc: stripe.StripeError, **extra) -> _Outcome:
    error = getattr(exc, "error", None)
    return _Outcome(
        AttemptState.FAILED,
        code=getattr(exc, "code", None) or (error.code if error else None),
        decline_code=(getattr(error, "decline_code", None) if error else None),
        message=getattr(exc, "user_message", None) or str(exc),
        declined=isinstance(exc, stripe.CardError),
        **extra,
    )


def _perform_pay(attempt: PaymentAttempt, payment: CardPayment, *, earlier_try: bool) -> _Outcome:
    card = payment.card
    customer_id = db.session.execute(select(CardCustomer.stripe_customer_id).where(CardCustomer.user_id == card.owner_id)).scalar_one()
    if earlier_try or payment.stripe_payment_intent_id:
        found = _find_earlier_intent(attempt, payment, customer_id)
        if found is not None:
            return _Outcome(AttemptState.SUCCEEDED, intent=found)
    booking = db.session.get(Booking, payment.booking_id)
    params: dict[str, Any] = {
        "amount": payment.amount_pence,
        "currency": CURRENCY,
        "customer": customer_id,
        "payment_method": card.stripe_payment_method_id,
        "payment_method_types": ["card"],
        "capture_method": "manual" if payment.kind is CardPaymentKind.AUTHORISE else "automatic",
        "confirm": True,
        "metadata": {
            "marketplace_attempt": attempt.key,
            "marketplace_payment": payment.public_id,
            "booking": booking.reference,
        },
    }
    if payment.kind is CardPaymentKind.CHARGE:
        params["off_session"] = True  # the card holder is not here: a merchant-initiated charge
    intent = _call(lambda c: c.v1.payment_intents.create(params=params, options={"idempotency_key": _idempotency_key(attempt, payment)}))
    return _Outcome(AttemptState.SUCCEEDED, intent=intent)


PAGE_SIZE = 100  # Stripe's largest page


def _find_earlier_intent(attempt: PaymentAttempt, payment: CardPayment, customer_id: str):
    """What an earlier, unrecorded try of this attempt did at Stripe, if anything.

    Every charge of the customer since the attempt was recorded is looked at, page after
    page (a busy payer can have more than one page of them), so an earlier request that
    did charge the card is always found and never sent again."""
    if payment.stripe_payment_intent_id:
        return _call(lambda c: c.v1.payment_intents.retrieve(payment.stripe_payment_intent_id))
    since = int((attempt.created_at - LOOK_BACK).timestamp())
    params: dict[str, Any] = {"customer": customer_id, "created": {"gt": since}, "limit": PAGE_SIZE}
    seen: set[str] = set()
    while True:
        page = _call(lambda c: c.v1.charges.list(params=dict(params)))
        for charge in page.data:
            intent_id = (
                charge.payment_intent
                if isinstance(charge.payment_intent, str) or charge.payment_intent is None
                else charge.payment_intent.id
            )
            # Only a charge of our amount can be ours: look no further at the others.
            if not intent_id or intent_id in seen or _field(charge, "amount") != payment.amount_pence:
                continue
            seen.add(intent_id)
            intent = _call(lambda c, intent_id=intent_id: c.v1.payment_intents.retrieve(intent_id))
            metadata = _field(intent, "metadata")
            if _field(metadata, "marketplace_attempt") == attempt.key and _field(metadata, "marketplace_payment") == payment.public_id:
                return intent
        if not _field(page, "has_more") or not page.data:
            return None
        params["starting_after"] = page.data[-1].id


def _perform_capture(attempt: PaymentAttempt, payment: CardPayment, *, earlier_try: bool) -> _Outcome:
    """Take the reserved money. We look at the authorisation first: one that lapsed or was
    cancelled is never sent a capture (the visit is charged to the card instead)."""
    intent_id = payment.stripe_payment_intent_id
    intent = _call(lambda c: c.v1.payment_intents.retrieve(intent_id))
    if intent.status != "requires_capture":
        return _intent_outcome_for_capture(intent)
    try:
        intent = _call(
            lambda c: c.v1.payment_intents.capture(
                intent_id,
                params={"amount_to_capture": attempt.amount_pence},
                options={"idempotency_key": _idempotency_key(attempt, payment)},
            )
        )
    except ProcessorRefused as exc:
        # Refused: look at the intent itself (it may have lapsed meanwhile). One still
        # waiting to be captured is cancelled and the visit charged instead (_plan_work).
        intent = _call(lambda c: c.v1.payment_intents.retrieve(intent_id))
        if intent.status == "requires_capture":
            return _failure(exc.error, intent=intent)
        return _intent_outcome_for_capture(intent)
    return _intent_outcome_for_capture(intent)


def _intent_outcome_for_capture(intent) -> _Outcome:
    if intent.status == "succeeded":
        return _Outcome(AttemptState.SUCCEEDED, intent=intent)
    if intent.status == "processing":  # not settled yet: look again later, never charge beside it
        raise ProcessorUnavailable("The card processor is still working on this payment. Nothing has been lost: we will look again.")
    return _Outcome(AttemptState.FAILED, intent=intent, code="authorisation_lapsed", message="The authorisation on the card has lapsed.")


def _perform_cancel(attempt: PaymentAttempt, payment: CardPayment, *, earlier_try: bool) -> _Outcome:
    intent_id = payment.stripe_payment_intent_id
    if intent_id is None:
        return _Outcome(AttemptState.SUCCEEDED)  # nothing was ever reserved at Stripe
    try:
        intent = _call(lambda c: c.v1.payment_intents.retrieve(intent_id))
    except ProcessorRefused as exc:
        if exc.missing:
            return _Outcome(AttemptState.SUCCEEDED)  # no such authorisation: nothing is reserved
        raise
    if intent.status in ("canceled", "succeeded", "requires_payment_method"):
        return _Outcome(AttemptState.SUCCEEDED if intent.status != "succeeded" else AttemptState.FAILED, intent=intent)
    try:
        intent = _call(lambda c: c.v1.payment_intents.cancel(intent_id, options={"idempotency_key": _idempotency_key(attempt, payment)}))
    except ProcessorRefused as exc:
        return _failure(exc.error, intent=_call(lambda c: c.v1.payment_intents.retrieve(intent_id)))
    return _Outcome(AttemptState.SUCCEEDED, intent=intent)


# What Stripe's refund statuses mean to us: only "succeeded" moves money to the card.
REFUND_SETTLED = {"succeeded": RefundStatus.SUCCEEDED, "failed": RefundStatus.FAILED, "canceled": RefundStatus.FAILED}


def _perform_refund(attempt: PaymentAttempt, payment: CardPayment, *, earlier_try: bool) -> _Outcome:
    """Ask Stripe for the refund. Its answer may be "pending": the request is made (the
    attempt succeeded) but the refund itself stays PENDING until Stripe says it succeeded."""
    intent_id = payment.stripe_payment_intent_id
    refund_row = db.session.get(CardRefund, attempt.refund_id)
    if earlier_try:
        params: dict[str, Any] = {"payment_intent": intent_id, "limit": PAGE_SIZE}
        while True:
            existing = _call(lambda c: c.v1.refunds.list(params=dict(params)))
            for refund in existing.data:
                metadata = _field(refund, "metadata")
                if (
                    _field(metadata, "marketplace_attempt") == attempt.key
                    and _field(metadata, "marketplace_refund") == refund_row.public_id
                ):
                    return _refund_outcome(refund)
            if not _field(existing, "has_more") or not existing.data:
                break
            params["starting_after"] = existing.data[-1].id
    try:
        refund = _call(
            lambda c: c.v1.refunds.create(
                params={
                    "payment_intent": intent_id,
                    "amount": attempt.amount_pence,
                    "metadata": {"marketplace_attempt": attempt.key, "marketplace_refund": refund_row.public_id},
                },
                options={"idempotency_key": _idempotency_key(attempt, payment)},
            )
        )
    except ProcessorRefused as exc:
        return _failure(exc.error)
    return _refund_outcome(refund)


def _refund_outcome(refund) -> _Outcome:
    if REFUND_SETTLED.get(refund.status) is RefundStatus.FAILED:
        return _Outcome(AttemptState.FAILED, refund=refund, message=_refund_failure_message(refund))
    return _Outcome(AttemptState.SUCCEEDED, refund=refund)


def _refund_failure_message(refund) -> str:
    reason = _field(refund, "failure_reason")
    if reason == "expired_or_canceled_card":
        return "The card has expired or been cancelled, so the bank could not take the refund."
    if reason == "lost_or_stolen_card":
        return "The card was reported lost or stolen, so the bank could not take the refund."
    return "The card processor could not make the refund."


# Recording what happened ---------------------------------------------------------------------

# Payment states only ever move forward (a late or replayed event cannot move them back).
_RANK = {
    CardPaymentStatus.STARTED: 0,
    CardPaymentStatus.REQUIRES_ACTION: 1,
    CardPaymentStatus.FAILED: 2,
    CardPaymentStatus.AUTHORISED: 3,
    CardPaymentStatus.CAPTURED: 4,
    CardPaymentStatus.CANCELLED: 4,
}


def _record(attempt_id: int, token: str, outcome: _Outcome) -> None:
    db.session.rollback()
    with write_transaction():
        payment_id = db.session.execute(select(PaymentAttempt.card_payment_id).where(PaymentAttempt.id == attempt_id)).scalar_one()
        payment = _lock_payment(payment_id)
        attempt = _locked(PaymentAttempt, attempt_id)
        if attempt.state is not AttemptState.STARTED or attempt.lease_token != token:
            return  # someone else finished it (our lease lapsed): theirs stands
        attempt.state = outcome.state
        attempt.finished_at = utcnow()
        attempt.error_code = outcome.decline_code or outcome.code
        attempt.error_message = outcome.message
        if attempt.operation is AttemptOperation.PAY:
            if outcome.intent is not None:
                attempt.stripe_object_id = outcome.intent.id
                _apply_intent(payment, outcome.intent, captured_pence=payment.amount_pence)
            else:
                _fail_payment(payment, outcome)
        elif attempt.operation is AttemptOperation.CAPTURE:
            if outcome.state is AttemptState.SUCCEEDED or (outcome.intent is not None and outcome.intent.status != "requires_capture"):
                _apply_intent(payment, outcome.intent, captured_pence=attempt.amount_pence)
            else:
                # Refused while the money is still reserved: _plan_work cancels the
                # authorisation and charges the saved card instead.
                payment.failure_code = "capture_refused"
                booking = db.session.get(Booking, payment.booking_id)
                visit = db.session.get(BookingVisit, payment.visit_id)
                bookings.record_event(
                    booking,
                    "capture_refused",
                    f"The card processor would not take the {format_pence(attempt.amount_pence)} reserved for the visit on "
                    f"{format_datetime(visit.starts_at)}: the reservation is being released and the card charged instead.",
                    None,
                )
        elif attempt.operation is AttemptOperation.CANCEL:
            if outcome.intent is not None:
                attempt.stripe_object_id = outcome.intent.id
                _apply_intent(payment, outcome.intent, captured_pence=payment.amount_pence)
            if payment.status.is_open and (outcome.state is AttemptState.FAILED or outcome.intent is None):
                _abandon_authorisation(payment, outcome)
        elif attempt.operation is AttemptOperation.REFUND:
            _finish_refund(attempt, payment, outcome)


def _abandon_authorisation(payment: CardPayment, outcome: _Outcome) -> None:
    """A reservation Stripe will not cancel (or no longer has): we will never capture it, so
    for us it is over. Stripe lets an uncaptured authorisation lapse by itself within 7 days.
    Its ledger hold goes back to the card, and any charge the visit needs is made afresh."""
    booking = db.session.get(Booking, payment.booking_id)
    visit = db.session.get(BookingVisit, payment.visit_id)
    _release_payment_hold(
        payment,
        Actor.system("card payments"),
        f"Reservation on {payment.card.description} given up ({booking.reference}, visit on {format_datetime(visit.starts_at)})",
    )
    payment.status = CardPaymentStatus.CANCELLED
    if outcome.state is AttemptState.FAILED:
        payment.failure_code = "cancel_refused"
        payment.failure_message = "The card processor would not release the reservation: it lapses by itself within 7 days."
        log.warning("card payment %s: Stripe refused to cancel the authorisation (%s)", payment.public_id, outcome.code)


def _fail_payment(payment: CardPayment, outcome: _Outcome) -> None:
    if _RANK[payment.status] >= _RANK[CardPaymentStatus.FAILED]:
        return
    payment.status = CardPaymentStatus.FAILED
    payment.failure_code = outcome.decline_code or outcome.code
    if outcome.declined:
        payment.failure_message = _decline_message(outcome.code, outcome.decline_code, payment.amount_pence, card=payment.card)
    else:
        payment.failure_message = "The card processor could not take this payment from your card. Add your card again, or use another card."
    _after_payment_failed(payment)


def _decline_message(code: str | None, decline_code: str | None, amount_pence: int | None, card: PaymentCard | None = None) -> str:
    """Words a person can act on, for a card the bank refused."""
    prepaid = card is not None and (card.funding is CardFunding.PREPAID or card.route is FundingRoute.PREPAID_CARD)
    if decline_code == "insufficient_funds" or code == "insufficient_funds":
        advice = (
            "Check the balance of your prepaid card: the council loads it every 4 weeks. "
            if prepaid
            else "Check the balance with your bank. "
        )
        return (
            "Your card does not have enough money for this payment"
            f"{'' if amount_pence is None else ' of ' + format_pence(amount_pence)}. {advice}"
            "You can book fewer visits, or use another card."
        )
    if code == "expired_card" or decline_code == "expired_card":
        return "Your card has expired. Add a card that is in date."
    if code in ("incorrect_cvc", "invalid_cvc") or decline_code == "incorrect_cvc":
        return "The security code (the 3 digits on the back of your card) was wrong. Add the card again."
    if code in ("authentication_required",) or decline_code == "authentication_required":
        return "Your bank needs you to confirm this payment yourself."
    if code == "authorisation_lapsed":
        return "The hold on your card had lapsed."
    return "Your bank declined the card. Contact your bank or card provider, or use another card."


def _after_payment_failed(payment: CardPayment) -> None:
    visit = db.session.get(BookingVisit, payment.visit_id)
    booking = db.session.get(Booking, payment.booking_id)
    if payment.kind is CardPaymentKind.CHARGE and visit.status in (VisitStatus.DELIVERED, VisitStatus.LATE_CANCELLED):
        _mark_unpaid(visit, booking, payment)


def _apply_intent(payment: CardPayment, intent, *, captured_pence: int) -> None:
    """Bring our record of a payment forward to what Stripe shows, moving the ledger to match."""
    if payment.stripe_payment_intent_id is None:
        payment.stripe_payment_intent_id = intent.id
        payment.client_secret = _field(intent, "client_secret")
    status = intent.status
    target = {
        "requires_action": CardPaymentStatus.REQUIRES_ACTION,
        "requires_capture": CardPaymentStatus.AUTHORISED,
        "succeeded": CardPaymentStatus.CAPTURED,
        "canceled": CardPaymentStatus.CANCELLED,
        "requires_payment_method": CardPaymentStatus.FAILED,
    }.get(status)
    if target is None or payment.status is CardPaymentStatus.CAPTURED:
        return
    if payment.status is CardPaymentStatus.CANCELLED:
        # Over, except a reservation we gave up because Stripe would not release it: if it
        # was taken after all, that money is recorded (and refunded if the visit was paid).
        if not (target is CardPaymentStatus.CAPTURED and payment.failure_code == "cancel_refused"):
            return
    elif _RANK[target] <= _RANK[payment.status]:
        return
    if target is CardPaymentStatus.REQUIRES_ACTION and payment.kind is CardPaymentKind.CHARGE:
        # Off-session and the bank wants the card holder: a failure they must act on.
        _fail_payment(payment, _Outcome(AttemptState.FAILED, code="authentication_required"))
        return
    if target is CardPaymentStatus.FAILED:
        error = _field(intent, "last_payment_error")
        _fail_payment(
            payment,
            _Outcome(AttemptState.FAILED, code=_field(error, "code"), decline_code=_field(error, "decline_code")),
        )
        return
    visit = db.session.get(BookingVisit, payment.visit_id)
    booking = db.session.get(Booking, payment.booking_id)
    card = payment.card
    actor = Actor.system("card payments")
    if target is CardPaymentStatus.REQUIRES_ACTION:
        payment.status = target
        return
    if target is CardPaymentStatus.AUTHORISED:
        if payment.status is CardPaymentStatus.FAILED and _other_open_payment(payment) is not None:
            # A late authorisation of a payment we had given up, while another payment for
            # the visit is under way: it is not needed, so it is cancelled (never captured).
            _ensure_attempt(payment, AttemptOperation.CANCEL)
            return
        held = ledger.place_hold(
            visit_id=visit.id,
            source=card_account(card),
            hold=ledger.hold_account(booking),
            amount_pence=payment.amount_pence,
            key=f"card-payment:{payment.id}:hold",
            actor=actor,
            memo=(
                f"Authorised on {card.description} for {booking.service.title} on {format_datetime(visit.starts_at)} ({booking.reference})"
            ),
        )
        payment.hold_id = held.id
        payment.status = target
        if visit.status is VisitStatus.SCHEDULED:
            bookings.try_move_visit(visit, (VisitStatus.SCHEDULED,), VisitStatus.HELD)
        if not _authorisation_needed(visit):
            # The visit was cancelled or declined (or paid another way) before the
            # authorisation reached us: it stands, and nothing may stay reserved on the card.
            # The reservation is recorded as it is, and its cancellation too, for the next
            # round of card work (the cancelling step's own, or `flask payments retry`).
            _ensure_attempt(payment, AttemptOperation.CANCEL)
        return
    if target is CardPaymentStatus.CANCELLED:
        _release_payment_hold(
            payment,
            actor,
            f"Released from {card.description}: {booking.reference} visit on {format_datetime(visit.starts_at)} not going ahead",
        )
        payment.status = target
        return
    # Captured: the card paid ``amount``.
    amount = captured_pence if payment.kind is CardPaymentKind.AUTHORISE else payment.amount_pence
    received = _field(intent, "amount_received")
    if isinstance(received, int) and 0 < received <= payment.amount_pence:
        amount = received
    memo = f"{booking.service.title} on {format_datetime(visit.starts_at)} ({booking.reference})"
    # A payment we had recorded as failed can still succeed later (the card holder passed
    # their bank's check after all). If the visit was paid meanwhile ("Pay now"), only what
    # is still due goes to the provider; the rest is refunded to the card automatically.
    to_provider = min(amount, max(0, _amount_due(visit) - _paid_by_others(payment)))
    # The reservation (if any) goes back to the card and the charge is taken, as a card
    # statement shows them: so the card's account tells its whole story.
    _release_payment_hold(payment, actor, f"Reservation on {card.description} released: charged instead. {memo}")
    ledger.post(
        TransactionKind.CARD_PAYMENT,
        [(card_account(card), -amount), (clearing_account(), amount)],
        key=f"card-payment:{payment.id}:charged",
        cause=("booking_visit", visit.id),
        actor=actor,
        memo=f"Charged to {card.description}: {memo}",
    )
    if to_provider:
        ledger.post(
            TransactionKind.CAPTURE,
            [(clearing_account(), -to_provider), (ledger.provider_payable_account(booking.provider), to_provider)],
            key=f"card-payment:{payment.id}:to-provider",
            cause=("booking_visit", visit.id),
            actor=actor,
            memo=f"Paid by card: {memo}",
        )
    payment.status = target
    payment.captured_pence = amount
    if to_provider < amount:
        # More than is owed now (the visit was paid another way, or cancelled or declined
        # meanwhile): the rest goes back to the card, automatically.
        _refund_duplicate(payment, booking, visit, amount - to_provider)
    if visit.status is VisitStatus.UNPAID and to_provider:
        paid = VisitStatus.DELIVERED if visit.delivered_units is not None else VisitStatus.LATE_CANCELLED
        if bookings.try_move_visit(visit, (VisitStatus.UNPAID,), paid):
            bookings.record_event(
                booking, "paid", f"{format_pence(amount)} paid by card for the visit on {format_datetime(visit.starts_at)}", None
            )
    elif visit.status is VisitStatus.SCHEDULED:
        # Paid before delivery: only by a webhook racing the booking.
        bookings.try_move_visit(visit, (VisitStatus.SCHEDULED,), VisitStatus.HELD)


def _authorisation_needed(visit: BookingVisit) -> bool:
    """Whether a reservation on the card still has a use: the visit is coming up, or it was
    delivered (or cancelled late) and not paid yet, so the reservation is to be captured."""
    if visit.status.is_upcoming:
        return True
    return visit.status in (VisitStatus.DELIVERED, VisitStatus.LATE_CANCELLED) and amount_owed(visit) > 0


def _other_open_payment(payment: CardPayment) -> CardPayment | None:
    return (
        db.session.execute(
            select(CardPayment).where(
                CardPayment.visit_id == payment.visit_id,
                CardPayment.id != payment.id,
                CardPayment.status.in_([CardPaymentStatus.STARTED, CardPaymentStatus.REQUIRES_ACTION, CardPaymentStatus.AUTHORISED]),
            )
        )
        .scalars()
        .first()
    )


def _amount_due(visit: BookingVisit) -> int:
    """What the card must pay for a visit: what was charged for it once delivered or
    cancelled late, otherwise its booked price."""
    if visit.status in (VisitStatus.DELIVERED, VisitStatus.LATE_CANCELLED, VisitStatus.UNPAID):
        return visit.charged_pence
    if visit.status in (VisitStatus.CANCELLED, VisitStatus.DECLINED):
        return 0  # cancelled in time or declined: nothing is owed for it
    return visit.amount_pence


def _paid_by_others(payment: CardPayment) -> int:
    """What the visit's other card payments passed on to the provider (their captures less
    what was refunded automatically because a card paid twice)."""
    others = (
        db.session.execute(
            select(CardPayment).where(
                CardPayment.visit_id == payment.visit_id, CardPayment.id != payment.id, CardPayment.status == CardPaymentStatus.CAPTURED
            )
        )
        .scalars()
        .all()
    )
    if not others:
        return 0
    duplicates = db.session.execute(
        select(func.coalesce(func.sum(CardRefund.amount_pence), 0)).where(
            CardRefund.card_payment_id.in_([p.id for p in others]), CardRefund.automatic.is_(True)
        )
    ).scalar_one()
    return sum(p.captured_pence for p in others) - int(duplicates)


def _refund_attempt(payment: CardPayment, refund: CardRefund) -> PaymentAttempt:
    """The attempt that makes a refund at Stripe, recorded before any request is sent."""
    return PaymentAttempt(
        key=f"card-refund:{refund.id}",
        operation=AttemptOperation.REFUND,
        state=AttemptState.STARTED,
        card_payment_id=payment.id,
        refund_id=refund.id,
        amount_pence=refund.amount_pence,
    )


def _refund_duplicate(payment: CardPayment, booking: Booking, visit: BookingVisit, amount_pence: int) -> CardRefund:
    """Record (inside the caller's transaction) the automatic refund of money a card paid for
    a visit that was already paid. The money waits in the card clearing account, where the
    card paid it, until Stripe confirms the refund; the refund itself is made by the next
    round of card work (``settle_booking``, ``flask payments retry``), never inside a webhook.
    Idempotent: one per payment."""
    when = format_datetime(visit.starts_at)
    paid = f"{payment.card.description} paid {format_pence(amount_pence)} for the visit on {when}"
    if visit.status in (VisitStatus.CANCELLED, VisitStatus.DECLINED):
        why, notice = "declined by the provider" if visit.status is VisitStatus.DECLINED else "cancelled in time", "not_owed_payment"
        reason = f"Not owed: {paid}, which was {why}, so it is given back automatically."
    elif _paid_by_others(payment):
        reason, notice = f"Paid twice: {paid} after it had already been paid, so it is given back automatically.", "duplicate_payment"
    else:
        reason = (
            f"More than owed: {paid}, more than its charge of {format_pence(_amount_due(visit))}, "
            "so the difference is given back automatically."
        )
        notice = "not_owed_payment"
    refund = CardRefund(
        public_id=_new_public_id(),
        card_payment_id=payment.id,
        request_key=f"duplicate:{payment.public_id}",
        amount_pence=amount_pence,
        reason=reason,
        status=RefundStatus.PENDING,
        requested_by_id=None,
        automatic=True,
    )
    db.session.add(refund)
    db.session.flush()
    db.session.add(_refund_attempt(payment, refund))
    audit.record(
        None,
        "payments.duplicate_refund_started",
        "booking",
        booking.reference,
        after={
            "visit_starts_at": visit.starts_at,
            "amount_pence": amount_pence,
            "card": payment.card.description,
            "payment": payment.public_id,
            "refund": refund.public_id,
        },
        note=reason,
    )
    bookings.record_event(booking, notice, reason, None)
    _pending.notifications.append((booking.id, notice))
    return refund


def _release_payment_hold(payment: CardPayment, actor: Actor, memo: str) -> None:
    if payment.hold_id is None:
        return
    held = db.session.get(ledger.LedgerHold, payment.hold_id)
    if held.status is ledger.HoldStatus.HELD:
        ledger.settle_hold(held, capture_pence=0, payee=None, actor=actor, memo=memo)


def _send_notifications() -> None:
    while _pending.notifications:
        booking_id, what = _pending.notifications.pop(0)
        booking = db.session.get(Booking, booking_id)
        if booking is not None:
            bookings.notify_booking_change(booking, what)


# Paying a visit that is owed ------------------------------------------------------------------


def unpaid_visits(payer: User) -> list[BookingVisit]:
    """Visits whose card charge failed, for the card's owner (or the citizen) to pay."""
    return list(
        db.session.execute(
            select(BookingVisit)
            .join(Booking, BookingVisit.booking_id == Booking.id)
            .join(BookingCard, BookingCard.booking_id == Booking.id)
            .join(PaymentCard, BookingCard.card_id == PaymentCard.id)
            .where(BookingVisit.status == VisitStatus.UNPAID, or_(PaymentCard.owner_id == payer.id, Booking.citizen_id == payer.id))
            .order_by(BookingVisit.starts_at)
        ).scalars()
    )


def amount_owed(visit: BookingVisit) -> int:
    paid = db.session.execute(
        select(func.coalesce(func.sum(CardPayment.captured_pence), 0)).where(CardPayment.visit_id == visit.id)
    ).scalar_one()
    return max(0, visit.charged_pence - int(paid))


@dataclass(frozen=True)
class PayNowResult:
    payment: CardPayment
    paid: bool
    requires_action: bool
    client_secret: str | None  # for Stripe.js to let the card holder confirm with their bank


def pay_unpaid_visit(visit: BookingVisit, *, payer: User, card: PaymentCard, request_key: str) -> PayNowResult:
    """The card holder pays a visit whose charge failed, while they are here (on-session).

    Idempotent on ``request_key`` (one per "Pay now" form)."""
    require_configured()
    if card.owner_id != payer.id or card.removed_at is not None:
        raise NotFound("No such card")
    key = f"visit:{visit.id}:pay-now:{request_key}"[:160]
    existing = db.session.execute(select(PaymentAttempt).where(PaymentAttempt.key == key)).scalar_one_or_none()
    if existing is None:
        try:
            with write_transaction():
                visit = db.session.get(BookingVisit, visit.id)
                booking = bookings.lock_booking(visit.booking_id)  # the visit as it is now, and what it owes
                visit = db.session.get(BookingVisit, visit.id)
                if not may_pay(payer, booking):
                    raise NotFound("No such visit")
                if visit.status is not VisitStatus.UNPAID:
                    raise Conflict("This visit has nothing left to pay")
                owed = amount_owed(visit)
                _new_payment(visit, booking, card, CardPaymentKind.PAY_NOW, owed, key=key)
        except IntegrityError:
            db.session.rollback()
            raise PaymentInProgress("A payment for this visit is already being made. Wait a moment, then refresh the page.") from None
    attempt_id = db.session.execute(select(PaymentAttempt.id).where(PaymentAttempt.key == key)).scalar_one()
    attempt = run_attempt(attempt_id)
    payment = db.session.get(CardPayment, attempt.card_payment_id)
    if payment.status is CardPaymentStatus.FAILED:
        raise CardDeclined(payment.failure_message or _decline_message(None, None, payment.amount_pence))
    return PayNowResult(
        payment,
        paid=payment.status is CardPaymentStatus.CAPTURED,
        requires_action=payment.status is CardPaymentStatus.REQUIRES_ACTION,
        client_secret=payment.client_secret if payment.status is CardPaymentStatus.REQUIRES_ACTION else None,
    )


def _booking_card_owner(booking: Booking) -> int | None:
    link = db.session.get(BookingCard, booking.id)
    return link.card.owner_id if link else None


def may_pay(user: User, booking: Booking) -> bool:
    """Who may pay what a card booking owes: the citizen, whoever booked it, or the card's owner."""
    return user.id in (booking.citizen_id, booking.booked_by_id, _booking_card_owner(booking))


def refresh_payment(payment: CardPayment) -> CardPayment:
    """Read a payment's state from Stripe again (after the card holder confirmed with their
    bank in the browser, or to check one a webhook has not told us about)."""
    if payment.stripe_payment_intent_id is None:
        return payment
    intent = _call(lambda c: c.v1.payment_intents.retrieve(payment.stripe_payment_intent_id))
    with write_transaction():
        payment = _lock_payment(payment.id)
        _apply_intent(payment, intent, captured_pence=payment.amount_pence)
    _send_notifications()
    return db.session.get(CardPayment, payment.id)


# Refunds ------------------------------------------------------------------------------------


def refundable_pence(payment: CardPayment) -> int:
    """What may still be refunded from a payment: what it took, less refunds made or in
    flight, and less any automatic refund of a double payment that is still owed."""
    held_back = db.session.execute(
        select(func.coalesce(func.sum(CardRefund.amount_pence), 0)).where(
            CardRefund.card_payment_id == payment.id,
            or_(CardRefund.status == RefundStatus.PENDING, (CardRefund.status == RefundStatus.FAILED) & CardRefund.automatic.is_(True)),
        )
    ).scalar_one()
    return payment.captured_pence - payment.refunded_pence - int(held_back)


def refund_visit(visit: BookingVisit, *, amount_pence: int, reason: str, by: User, request_key: str, for_provider=None) -> CardRefund:
    """A provider (for their own bookings) or a commissioner gives back some or all of what
    a card paid for a visit, with a reason. Idempotent on ``request_key``.

    Provider staff pass ``for_provider``, the provider they work for (the provider pages know
    it); a visit of another provider's booking answers NotFound."""
    require_configured()
    existing = db.session.execute(select(CardRefund).where(CardRefund.request_key == request_key)).scalar_one_or_none()
    if existing is None:
        reason = (reason or "").strip()
        errors = {}
        if not reason:
            errors["reason"] = "Enter the reason for the refund: the person will see it"
        elif len(reason) > MAX_REASON:
            errors["reason"] = f"The reason must be {MAX_REASON} characters or fewer"
        if isinstance(amount_pence, bool) or not isinstance(amount_pence, int) or amount_pence <= 0:
            errors["amount"] = "Enter an amount to refund, like 12.50"
        if errors:
            raise ValidationError(errors)
        try:
            existing = _record_refund(
                visit, amount_pence=amount_pence, reason=reason, by=by, request_key=request_key, for_provider=for_provider
            )
        except IntegrityError:
            db.session.rollback()
            existing = db.session.execute(select(CardRefund).where(CardRefund.request_key == request_key)).scalar_one()
    if existing.requested_by_id != by.id:
        raise Conflict("That refund request was already used")
    attempt_id = db.session.execute(select(PaymentAttempt.id).where(PaymentAttempt.refund_id == existing.id)).scalar_one()
    run_attempt(attempt_id)
    refund = db.session.get(CardRefund, existing.id)
    db.session.refresh(refund)
    if refund.status is RefundStatus.FAILED:
        raise Conflict(f"The refund could not be made: {refund.failure_message}")
    return refund


def _may_refund(user: User, booking: Booking, for_provider) -> bool:
    if user.role is Role.COMMISSIONER:
        return True
    if user.role is Role.PROVIDER:
        return for_provider is not None and for_provider.id == booking.provider_id
    return False


def _record_refund(visit: BookingVisit, *, amount_pence: int, reason: str, by: User, request_key: str, for_provider) -> CardRefund:
    with write_transaction():
        visit = db.session.get(BookingVisit, visit.id)
        # The booking and its visits first, then its payments, as every card step does.
        booking = bookings.lock_booking(visit.booking_id)
        if not _may_refund(by, booking, for_provider):
            raise NotFound("No such visit")
        captured = (
            db.session.execute(
                select(CardPayment)
                .where(CardPayment.visit_id == visit.id, CardPayment.status == CardPaymentStatus.CAPTURED)
                .order_by(CardPayment.id.desc())
            )
            .scalars()
            .all()
        )
        if not captured:
            raise ValidationError({"amount": "Nothing has been paid by card for this visit, so there is nothing to refund"})
        # The latest payment with something left to refund (a visit paid twice has two).
        payment = next((p for p in captured if refundable_pence(p) > 0), captured[0])
        # Lock the payment row so two refunds cannot both pass the check (SQLite: the write lock).
        db.session.execute(select(CardPayment.id).where(CardPayment.id == payment.id).with_for_update())
        left = refundable_pence(payment)
        if amount_pence > left:
            raise ValidationError({"amount": f"You can refund at most {format_pence(left)} for this visit"})
        refund = CardRefund(
            public_id=_new_public_id(),
            card_payment_id=payment.id,
            request_key=request_key,
            amount_pence=amount_pence,
            reason=reason,
            status=RefundStatus.PENDING,
            requested_by_id=by.id,
        )
        db.session.add(refund)
        db.session.flush()
        # The provider gives the money back now, so it cannot be paid out to them as well.
        try:
            ledger.post(
                TransactionKind.CORRECTION,
                [(ledger.provider_payable_account(booking.provider), -amount_pence), (clearing_account(), amount_pence)],
                key=f"card-refund:{refund.id}:from-provider",
                cause=("card_refund", refund.id),
                actor=Actor.person(by),
                memo=f"Refund to {payment.card.description} for {booking.reference}: {reason}",
                corrects=_capture_transaction(payment),
            )
        except ledger.InsufficientFunds:
            raise Conflict(
                f"{booking.provider.name} has already been paid this money, so the refund must come from their next payment. "
                "Contact the council's payments team."
            ) from None
        db.session.add(_refund_attempt(payment, refund))
        audit.record(
            by,
            "payments.refund_requested",
            "booking",
            booking.reference,
            after={
                "visit_starts_at": visit.starts_at,
                "amount_pence": amount_pence,
                "card": payment.card.description,
                "refund": refund.public_id,
            },
            note=reason,
        )
        bookings.record_event(
            booking,
            "refund_requested",
            f"Refund of {format_pence(amount_pence)} for the visit on {format_datetime(visit.starts_at)} asked for by {by.name}: {reason}",
            by,
        )
    return refund


def _capture_transaction(payment: CardPayment) -> LedgerTransaction | None:
    return ledger.find_transaction(f"card-payment:{payment.id}:to-provider")


def _finish_refund(attempt: PaymentAttempt, payment: CardPayment, outcome: _Outcome) -> None:
    """Record Stripe's answer to our refund request. A refund Stripe accepted but has not
    finished ("pending") stays PENDING: its money stays in the clearing account and reaches
    the card only when Stripe says it succeeded (a webhook, or ``flask payments retry``)."""
    refund = db.session.get(CardRefund, attempt.refund_id)
    if outcome.refund is not None:
        attempt.stripe_object_id = outcome.refund.id
        if refund.stripe_refund_id is None:
            refund.stripe_refund_id = outcome.refund.id
    if outcome.state is AttemptState.SUCCEEDED:
        settled = REFUND_SETTLED.get(outcome.refund.status)
        if settled is RefundStatus.SUCCEEDED:
            _refund_succeeded(refund)
        elif refund.status is RefundStatus.PENDING:
            booking = db.session.get(Booking, payment.booking_id)
            bookings.record_event(
                booking,
                "refund_pending",
                f"Refund of {format_pence(refund.amount_pence)} to {payment.card.description} sent to the card processor: "
                "it shows on the card once the bank confirms it.",
                None,
            )
    else:
        _refund_failed(refund, outcome.message or "the card processor refused it")


def _refund_succeeded(refund: CardRefund) -> None:
    """The refund reached the card: money out of the clearing account to the card. Once."""
    if refund.status is not RefundStatus.PENDING:
        return
    payment = db.session.get(CardPayment, refund.card_payment_id)
    booking = db.session.get(Booking, payment.booking_id)
    refund.status = RefundStatus.SUCCEEDED
    refund.settled_at = utcnow()
    payment.refunded_pence = payment.refunded_pence + refund.amount_pence
    ledger.post(
        TransactionKind.CARD_REFUND,
        [(clearing_account(), -refund.amount_pence), (card_account(payment.card), refund.amount_pence)],
        key=f"card-refund:{refund.id}:to-card",
        cause=("card_refund", refund.id),
        actor=Actor.system("card payments"),
        memo=f"Refunded to {payment.card.description} ({booking.reference}): {refund.reason}",
    )
    bookings.record_event(
        booking, "refunded", f"{format_pence(refund.amount_pence)} refunded to {payment.card.description}: {refund.reason}", None
    )
    audit.record(
        None,
        "payments.refunded",
        "booking",
        booking.reference,
        after={
            "amount_pence": refund.amount_pence,
            "refund": refund.public_id,
            "stripe_refund": refund.stripe_refund_id,
            "automatic": refund.automatic,
        },
    )
    _pending.notifications.append((booking.id, "refunded"))


def _refund_failed(refund: CardRefund, message: str) -> None:
    """Stripe would not make the refund (or reversed it). A refund a person asked for gives
    the money back to the provider, where it came from (a linked correction). An automatic
    refund of a visit paid twice cannot: that money never reached the provider, so it stays
    in the clearing account, owed to the card holder, for the council's payments team
    (the booking and the audit trail say so, and `flask ledger check` counts it)."""
    if refund.status is not RefundStatus.PENDING:
        return
    payment = db.session.get(CardPayment, refund.card_payment_id)
    booking = db.session.get(Booking, payment.booking_id)
    refund.status = RefundStatus.FAILED
    refund.failure_message = message
    refund.settled_at = utcnow()
    if refund.automatic:
        note = (
            f"Automatic refund of {format_pence(refund.amount_pence)} (money not owed) not made: {message} "
            "The council's payments team will repay it."
        )
    else:
        ledger.post(
            TransactionKind.CORRECTION,
            [(clearing_account(), -refund.amount_pence), (ledger.provider_payable_account(booking.provider), refund.amount_pence)],
            key=f"card-refund:{refund.id}:back-to-provider",
            cause=("card_refund", refund.id),
            actor=Actor.system("card payments"),
            memo=f"Refund not made, money back to {booking.provider.name}: {message}",
            corrects=ledger.find_transaction(f"card-refund:{refund.id}:from-provider"),
        )
        note = f"Refund of {format_pence(refund.amount_pence)} not made: {message}"
    bookings.record_event(booking, "refund_failed", note, None)
    audit.record(
        None,
        "payments.refund_failed",
        "booking",
        booking.reference,
        after={"amount_pence": refund.amount_pence, "refund": refund.public_id, "automatic": refund.automatic},
        note=message,
    )
    _pending.notifications.append((booking.id, "refund_failed"))


# Webhooks -------------------------------------------------------------------------------------


class WebhookRejected(DomainError):
    """The request is not a genuine Stripe event for us."""


@dataclass(frozen=True)
class WebhookResult:
    event_id: str
    duplicate: bool
    outcome: str


def handle_webhook(payload: bytes, signature_header: str | None) -> WebhookResult:
    """Verify, record once, and apply one Stripe event. Never asks Stripe anything, so it
    answers fast; state only moves forward, so replays and late events change nothing."""
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if not secret:
        raise CardPaymentsNotConfigured()
    try:
        stripe.WebhookSignature.verify_header(payload.decode("utf-8"), signature_header or "", secret, stripe.Webhook.DEFAULT_TOLERANCE)
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as exc:
        raise WebhookRejected("The signature does not match") from exc
    try:
        event = json.loads(payload)
        event_id, event_type, created = event["id"], event["type"], int(event.get("created") or 0)
        obj = event["data"]["object"]
    except (ValueError, KeyError, TypeError) as exc:
        raise WebhookRejected("Not a Stripe event") from exc
    object_id = obj.get("id") if isinstance(obj, dict) else None
    try:
        with write_transaction():
            db.session.add(StripeEvent(event_id=event_id, event_type=event_type, object_id=object_id, stripe_created=created))
            db.session.flush()
            outcome = _apply_event(event_type, obj)
            db.session.execute(update(StripeEvent.__table__).where(StripeEvent.__table__.c.event_id == event_id).values(outcome=outcome))
    except IntegrityError:
        db.session.rollback()
        recorded = db.session.execute(select(StripeEvent).where(StripeEvent.event_id == event_id)).scalar_one()
        return WebhookResult(event_id, True, recorded.outcome)
    _send_notifications()
    return WebhookResult(event_id, False, outcome)


REFUND_EVENTS = ("charge.refund.updated", "refund.created", "refund.updated", "refund.failed")


def _apply_event(event_type: str, obj: dict) -> str:
    if event_type in REFUND_EVENTS:
        return _apply_refund_event(obj)
    if not event_type.startswith("payment_intent."):
        return "ignored: not a payment intent or refund event"
    intent = stripe.PaymentIntent.construct_from(obj, None)
    payment_id = db.session.execute(select(CardPayment.id).where(CardPayment.stripe_payment_intent_id == intent.id)).scalar_one_or_none()
    if payment_id is None:
        key = (obj.get("metadata") or {}).get("marketplace_attempt")
        attempt = db.session.execute(select(PaymentAttempt).where(PaymentAttempt.key == key)).scalar_one_or_none() if key else None
        if attempt is None:
            return "ignored: not one of our payments"
        payment_id = attempt.card_payment_id
    # The booking, its visits, then the payment: a cancellation of the same visit at the
    # same moment goes wholly before or wholly after this event, never half-way.
    payment = _lock_payment(payment_id)
    if payment.stripe_payment_intent_id not in (None, intent.id):
        return "ignored: an earlier, superseded payment intent"
    before = payment.status
    captured = payment.amount_pence
    capture = db.session.execute(
        select(PaymentAttempt).where(PaymentAttempt.card_payment_id == payment.id, PaymentAttempt.operation == AttemptOperation.CAPTURE)
    ).scalar_one_or_none()
    if capture is not None:
        captured = capture.amount_pence
    _apply_intent(payment, intent, captured_pence=captured)
    if payment.status is before:
        return f"no change: payment {payment.public_id} is {payment.status.value}"
    return f"payment {payment.public_id}: {before.value} -> {payment.status.value}"


def _apply_refund_event(obj: dict) -> str:
    """A refund's status from Stripe: only "succeeded" moves money to the card; "failed" or
    "canceled" gives it back where it came from (reversing the refund if it had succeeded)."""
    if not isinstance(obj, dict) or obj.get("object") != "refund":
        return "ignored: not a refund"
    refund = _our_refund(obj)
    if refund is None:
        return "ignored: not one of our refunds"
    refund = _lock_refund(refund.id)  # locks first, then writes
    if refund.stripe_refund_id is None:
        refund.stripe_refund_id = obj.get("id")
    elif refund.stripe_refund_id != obj.get("id"):
        return "ignored: not one of our refunds"
    return _apply_refund_status(refund, obj)


def _our_refund(obj) -> CardRefund | None:
    """Which of our refunds a Stripe refund is (by its id, or the public id we put in its
    metadata before Stripe told us its id). Reads only."""
    refund = db.session.execute(select(CardRefund).where(CardRefund.stripe_refund_id == obj.get("id"))).scalar_one_or_none()
    if refund is None:
        public_id = (obj.get("metadata") or {}).get("marketplace_refund")
        refund = db.session.execute(select(CardRefund).where(CardRefund.public_id == public_id)).scalar_one_or_none() if public_id else None
        if refund is None or refund.stripe_refund_id not in (None, obj.get("id")):
            return None
    return refund


def _lock_refund(refund_id: int) -> CardRefund:
    """Lock a refund's payment (after its booking and visits, as ``_lock_payment`` does) and
    read the refund as it is now: Stripe sends two events for one refund's change, and two
    at once must not both move its money."""
    payment_id = db.session.execute(select(CardRefund.card_payment_id).where(CardRefund.id == refund_id)).scalar_one()
    _lock_payment(payment_id)
    return db.session.execute(select(CardRefund).where(CardRefund.id == refund_id).execution_options(populate_existing=True)).scalar_one()


def _apply_refund_status(refund: CardRefund, obj) -> str:
    before = refund.status
    settled = REFUND_SETTLED.get(_field(obj, "status"))
    if settled is RefundStatus.SUCCEEDED:
        _refund_succeeded(refund)
    elif settled is RefundStatus.FAILED:
        message = _refund_failure_message(obj)
        if refund.status is RefundStatus.SUCCEEDED:
            _refund_reversed(refund, message)
        else:
            _refund_failed(refund, message)
    if refund.status is before:
        return f"no change: refund {refund.public_id} is {refund.status.value}"
    return f"refund {refund.public_id}: {before.value} -> {refund.status.value}"


def _refund_reversed(refund: CardRefund, message: str) -> None:
    """A refund that had succeeded failed afterwards (rare: the bank sent it back). The
    money that reached the card comes back through linked corrections: from the card to
    the clearing account, then (for a refund a person asked for) on to the provider."""
    payment = db.session.get(CardPayment, refund.card_payment_id)
    booking = db.session.get(Booking, payment.booking_id)
    actor = Actor.system("card payments")
    ledger.post(
        TransactionKind.CORRECTION,
        [(card_account(payment.card), -refund.amount_pence), (clearing_account(), refund.amount_pence)],
        key=f"card-refund:{refund.id}:reversed",
        cause=("card_refund", refund.id),
        actor=actor,
        memo=f"Refund to {payment.card.description} sent back by the bank ({booking.reference}): {message}",
        corrects=ledger.find_transaction(f"card-refund:{refund.id}:to-card"),
    )
    payment.refunded_pence = payment.refunded_pence - refund.amount_pence
    refund.status = RefundStatus.PENDING  # the money is back in clearing: settle it as a failure
    _refund_failed(refund, message)


# Reading ------------------------------------------------------------------------------------


def payments_for_booking(booking: Booking) -> list[CardPayment]:
    return list(db.session.execute(select(CardPayment).where(CardPayment.booking_id == booking.id).order_by(CardPayment.id)).scalars())


def booking_card(booking: Booking) -> PaymentCard | None:
    link = db.session.get(BookingCard, booking.id)
    return link.card if link else None


def refunds_for_booking(booking: Booking) -> list[CardRefund]:
    return list(
        db.session.execute(
            select(CardRefund)
            .join(CardPayment, CardRefund.card_payment_id == CardPayment.id)
            .where(CardPayment.booking_id == booking.id)
            .order_by(CardRefund.id)
        ).scalars()
    )


def payment_for_card_holder(public_id: str, holder: User) -> CardPayment:
    """One payment, for the person whose card it is on (for confirming it with their bank)."""
    payment = db.session.execute(
        select(CardPayment)
        .join(PaymentCard, CardPayment.card_id == PaymentCard.id)
        .where(CardPayment.public_id == public_id, PaymentCard.owner_id == holder.id)
    ).scalar_one_or_none()
    if payment is None:
        raise NotFound("No such payment")
    return payment


def awaiting_bank(booking: Booking, holder: User) -> list[CardPayment]:
    """The booking's payments on ``holder``'s card that their bank wants them to confirm."""
    return [p for p in payments_for_booking(booking) if p.status is CardPaymentStatus.REQUIRES_ACTION and p.card.owner_id == holder.id]


@dataclass(frozen=True)
class CardStatementLine:
    at: dt.datetime
    description: str
    card: str
    authorised_pence: int  # reserved on the card (not taken)
    released_pence: int  # a reservation given back
    paid_pence: int  # taken from the card
    refunded_pence: int  # given back to the card


def card_statement(payer: User, *, starts_at: dt.datetime | None = None, ends_at: dt.datetime | None = None) -> list[CardStatementLine]:
    """The card lines of a person's statement, from the ledger: every movement on their own
    cards, and the card movements for their own bookings that someone else's card paid
    (a representative paying with the citizen's council prepaid card, for example)."""

    def account_of(card: PaymentCard) -> int | None:
        return db.session.execute(
            select(LedgerAccount.id).where(LedgerAccount.kind == AccountKind.SELF_FUNDED, LedgerAccount.owner_key == f"card:{card.id}")
        ).scalar_one_or_none()

    own: dict[int, str] = {}
    for card in db.session.execute(select(PaymentCard).where(PaymentCard.owner_id == payer.id)).scalars():
        account_id = account_of(card)
        if account_id is not None:
            own[account_id] = card.description
    others: dict[int, str] = {}
    booking_ids = (
        db.session.execute(
            select(Booking.id)
            .join(BookingCard, BookingCard.booking_id == Booking.id)
            .join(PaymentCard, BookingCard.card_id == PaymentCard.id)
            .where(Booking.citizen_id == payer.id, PaymentCard.owner_id != payer.id)
        )
        .scalars()
        .all()
    )
    for link in db.session.execute(select(BookingCard).where(BookingCard.booking_id.in_(booking_ids))).scalars() if booking_ids else []:
        account_id = account_of(link.card)
        if account_id is not None and account_id not in own:
            others[account_id] = f"{link.card.description} ({link.card.owner.name}'s card)"
    if not own and not others:
        return []
    conditions = []
    if own:
        conditions.append(LedgerEntry.account_id.in_(list(own)))
    if others:
        visit_ids = select(BookingVisit.id).where(BookingVisit.booking_id.in_(booking_ids))
        refund_ids = (
            select(CardRefund.id)
            .join(CardPayment, CardRefund.card_payment_id == CardPayment.id)
            .where(CardPayment.booking_id.in_(booking_ids))
        )
        conditions.append(
            LedgerEntry.account_id.in_(list(others))
            & or_(
                (LedgerTransaction.cause_type == "booking_visit") & LedgerTransaction.cause_id.in_(visit_ids),
                (LedgerTransaction.cause_type == "card_refund") & LedgerTransaction.cause_id.in_(refund_ids),
            )
        )
    query = (
        select(LedgerTransaction, LedgerEntry.account_id, LedgerEntry.amount_pence)
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .where(or_(*conditions))
        .order_by(LedgerTransaction.effective_at, LedgerTransaction.id)
    )
    if starts_at is not None:
        query = query.where(LedgerTransaction.effective_at >= starts_at)
    if ends_at is not None:
        query = query.where(LedgerTransaction.effective_at < ends_at)
    lines = []
    for transaction, account_id, amount in db.session.execute(query).all():
        authorised = released = paid = refunded = 0
        if transaction.kind is TransactionKind.HOLD:
            authorised = -amount
        elif transaction.kind is TransactionKind.RELEASE:
            released = amount
        elif transaction.kind is TransactionKind.CARD_PAYMENT:
            paid = -amount
        elif transaction.kind in (TransactionKind.CARD_REFUND, TransactionKind.CORRECTION):
            refunded = amount  # a correction here is a refund the bank sent back (negative)
        card = own.get(account_id) or others[account_id]
        lines.append(CardStatementLine(transaction.effective_at, transaction.memo, card, authorised, released, paid, refunded))
    return lines


def pending_refunds_for(person: User) -> list[CardRefund]:
    """Refunds asked for but not yet confirmed by the card processor, on the person's own
    cards or for their own bookings: shown beside the statement until they reach the card."""
    return list(
        db.session.execute(
            select(CardRefund)
            .join(CardPayment, CardRefund.card_payment_id == CardPayment.id)
            .join(PaymentCard, CardPayment.card_id == PaymentCard.id)
            .join(Booking, CardPayment.booking_id == Booking.id)
            .where(CardRefund.status == RefundStatus.PENDING, or_(PaymentCard.owner_id == person.id, Booking.citizen_id == person.id))
            .order_by(CardRefund.created_at)
        ).scalars()
    )


@dataclass(frozen=True)
class SpendRow:
    route: FundingRoute
    funding: CardFunding
    payments: int
    paid_pence: int
    refunded_pence: int

    @property
    def net_pence(self) -> int:
        return self.paid_pence - self.refunded_pence


def card_spend(*, since: dt.datetime | None = None, until: dt.datetime | None = None) -> list[SpendRow]:
    """What was paid by card through the marketplace, by route (council prepaid card or own
    money) and card funding type: what the council's prepaid card holders spend."""
    query = select(
        CardPayment.route,
        CardPayment.funding,
        func.count(CardPayment.id),
        func.coalesce(func.sum(CardPayment.captured_pence), 0),
        func.coalesce(func.sum(CardPayment.refunded_pence), 0),
    ).where(CardPayment.status == CardPaymentStatus.CAPTURED)
    if since is not None:
        query = query.where(CardPayment.updated_at >= since)
    if until is not None:
        query = query.where(CardPayment.updated_at < until)
    rows = db.session.execute(query.group_by(CardPayment.route, CardPayment.funding)).all()
    return [SpendRow(route, funding, int(n), int(paid), int(refunded)) for route, funding, n, paid, refunded in rows]


@dataclass(frozen=True)
class PrepaidSpend:
    """What council prepaid cards paid for one direct-payment recipient (the citizen whose
    care it was), through one card holder (the citizen, or their representative)."""

    citizen: User
    holder: User
    net_pence: int


def prepaid_card_holders_spend() -> list[PrepaidSpend]:
    """Council prepaid card spend, net of refunds, by the citizen it was for (the direct
    payment's recipient) and the card holder who paid."""
    rows = db.session.execute(
        select(
            Booking.citizen_id, PaymentCard.owner_id, func.coalesce(func.sum(CardPayment.captured_pence - CardPayment.refunded_pence), 0)
        )
        .join(CardPayment, CardPayment.card_id == PaymentCard.id)
        .join(Booking, CardPayment.booking_id == Booking.id)
        .where(
            CardPayment.status == CardPaymentStatus.CAPTURED,
            or_(PaymentCard.route == FundingRoute.PREPAID_CARD, CardPayment.funding == CardFunding.PREPAID),
        )
        .group_by(Booking.citizen_id, PaymentCard.owner_id)
    ).all()
    return [
        PrepaidSpend(db.session.get(User, citizen_id), db.session.get(User, owner_id), int(total)) for citizen_id, owner_id, total in rows
    ]


# Retrying everything left unfinished ------------------------------------------------------------


def retry_unfinished(progress=None) -> int:
    """Finish every attempt whose outcome was never recorded, and the card work of every
    card booking with a visit waiting to be paid (``flask payments retry``; safe to re-run)."""
    booking_ids = set(
        db.session.execute(
            select(CardPayment.booking_id)
            .join(PaymentAttempt, PaymentAttempt.card_payment_id == CardPayment.id)
            .where(PaymentAttempt.state == AttemptState.STARTED)
        ).scalars()
    )
    booking_ids |= set(
        db.session.execute(
            select(Booking.id)
            .join(BookingVisit, BookingVisit.booking_id == Booking.id)
            .join(BookingCard, BookingCard.booking_id == Booking.id)
            .where(
                BookingVisit.status.in_([VisitStatus.DELIVERED, VisitStatus.LATE_CANCELLED, VisitStatus.CANCELLED, VisitStatus.DECLINED])
            )
        ).scalars()
    )
    for booking_id in sorted(booking_ids):
        settle_booking(db.session.get(Booking, booking_id))
        if progress:
            progress(1)
    refresh_pending_refunds()
    return len(booking_ids)


def refresh_pending_refunds() -> int:
    """Ask Stripe how each refund it accepted but had not finished is doing, in case its
    webhook never came; settle the ones that finished. Returns how many changed."""
    if not is_configured():
        return 0
    waiting = (
        db.session.execute(select(CardRefund.id).where(CardRefund.status == RefundStatus.PENDING, CardRefund.stripe_refund_id.is_not(None)))
        .scalars()
        .all()
    )
    changed = 0
    for refund_id in waiting:
        stripe_refund_id = db.session.get(CardRefund, refund_id).stripe_refund_id
        try:
            remote = _call(lambda c, refund_id=stripe_refund_id: c.v1.refunds.retrieve(refund_id))
        except (ProcessorUnavailable, ProcessorRefused) as exc:
            log.warning("refund %s: could not ask Stripe about it (%s)", refund_id, exc)
            continue
        with write_transaction():
            refund = _lock_refund(refund_id)
            before = refund.status
            _apply_refund_status(refund, remote)
            changed += refund.status is not before
        _send_notifications()
    return changed


# Invariants for `flask ledger check` ------------------------------------------------------------


def check_cards() -> list[ledger.Problem]:
    """The card side of `flask ledger check`: clearing, each card's account, delivered visits collected."""
    problems = []
    clearing = db.session.execute(
        select(LedgerAccount).where(LedgerAccount.kind == AccountKind.CARD_CLEARING, LedgerAccount.owner_key == "stripe")
    ).scalar_one_or_none()
    # Refunds in flight, and automatic refunds (a visit paid twice) Stripe would not make:
    # that money never reached a provider and is owed to the card holder.
    pending = int(
        db.session.execute(
            select(func.coalesce(func.sum(CardRefund.amount_pence), 0)).where(
                or_(CardRefund.status == RefundStatus.PENDING, (CardRefund.status == RefundStatus.FAILED) & CardRefund.automatic.is_(True))
            )
        ).scalar_one()
    )
    in_clearing = ledger.balance(clearing) if clearing is not None else 0
    if in_clearing != pending:
        problems.append(
            ledger.Problem(
                "card clearing holds only refunds in flight", f"clearing holds {in_clearing} but pending refunds total {pending}"
            )
        )
    problems.extend(_check_delivered_card_visits())
    cards = db.session.execute(select(PaymentCard)).scalars().all()
    for card in cards:
        account = db.session.execute(
            select(LedgerAccount).where(LedgerAccount.kind == AccountKind.SELF_FUNDED, LedgerAccount.owner_key == f"card:{card.id}")
        ).scalar_one_or_none()
        in_ledger = -ledger.balance(account) if account is not None else 0
        payments = db.session.execute(select(CardPayment).where(CardPayment.card_id == card.id)).scalars().all()
        expected = sum(
            p.captured_pence - p.refunded_pence + (p.amount_pence if p.status is CardPaymentStatus.AUTHORISED else 0) for p in payments
        )
        if in_ledger != expected:
            problems.append(
                ledger.Problem(
                    "card ledger matches card payments",
                    f"card {card.public_id}: the ledger shows {in_ledger} taken or reserved, its payments {expected}",
                )
            )
            break
    return problems


def _check_delivered_card_visits() -> list[ledger.Problem]:
    """Every delivered (or late-cancelled) visit of a card booking is paid by card, or is
    marked unpaid (so someone is asked to pay it), or has card work still under way (an
    attempt not finished: `flask payments retry` finishes it). Anything else is money owed
    that nobody is collecting."""
    rows = db.session.execute(
        select(BookingVisit.id, BookingVisit.charged_pence, Booking.reference)
        .join(Booking, BookingVisit.booking_id == Booking.id)
        .join(BookingCard, BookingCard.booking_id == Booking.id)
        .where(BookingVisit.status.in_([VisitStatus.DELIVERED, VisitStatus.LATE_CANCELLED]))
        .order_by(BookingVisit.id)
    ).all()
    for visit_id, due, reference in rows:
        captured = int(
            db.session.execute(
                select(func.coalesce(func.sum(CardPayment.captured_pence), 0)).where(CardPayment.visit_id == visit_id)
            ).scalar_one()
        )
        if captured >= due:
            continue
        in_flight = db.session.execute(
            select(PaymentAttempt.id)
            .join(CardPayment, PaymentAttempt.card_payment_id == CardPayment.id)
            .where(CardPayment.visit_id == visit_id, PaymentAttempt.state == AttemptState.STARTED)
            .limit(1)
        ).scalar_one_or_none()
        if in_flight is None:
            return [
                ledger.Problem(
                    "a delivered card visit is paid, marked unpaid or being paid",
                    f"visit {visit_id} of {reference}: {due} due, {captured} paid by card, not marked unpaid and no card work under way",
                )
            ]
    return []
