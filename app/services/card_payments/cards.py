"""Saving cards: the payer's Stripe customer, a SetupIntent confirmed in the browser by
Stripe.js, and the saved card's details (brand, last four digits, funding type) with the
route the payer told us (council prepaid card or their own money)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import NoReturn

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.database import utcnow, write_transaction
from app.extensions import db
from app.models import CardCustomer, CardFunding, CardSetup, CardSetupStatus, FundingRoute, PaymentCard, User
from app.services.card_payments import settings, stripe_api
from app.services.card_payments.errors import CardDeclined, ProcessorRefused
from app.services.card_payments.public_ids import new_public_id
from app.services.errors import NotFound, ValidationError

log = logging.getLogger(__name__)


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


# The payer's Stripe customer ------------------------------------------------------------------


def _customer_for(payer: User) -> str:
    """The payer's Stripe customer id, created once (a spare customer from a crash holds no money)."""
    found = db.session.execute(select(CardCustomer).where(CardCustomer.user_id == payer.id)).scalar_one_or_none()
    if found is not None:
        return found.stripe_customer_id
    customer = stripe_api.call(
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
    customer = stripe_api.call(
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


# Saving a card ----------------------------------------------------------------------------------


def start_card_setup(payer: User) -> CardSetup:
    """Begin saving a card: a SetupIntent whose client secret Stripe.js confirms in the browser."""
    settings.require_configured()
    public_id = new_public_id()  # our own operation: the idempotency key is derived from it
    customer_id = _customer_for(payer)

    def create(customer: str):
        return stripe_api.call(
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
    intent = stripe_api.call(lambda c: c.v1.setup_intents.retrieve(setup.stripe_setup_intent_id))
    if intent.status != "succeeded" or not intent.payment_method:
        _refuse_unconfirmed(setup, intent)
    customer_id = db.session.execute(select(CardCustomer.stripe_customer_id).where(CardCustomer.user_id == payer.id)).scalar_one()
    method = stripe_api.call(lambda c: c.v1.payment_methods.retrieve(intent.payment_method))
    details = card_details(method)
    if method.customer != customer_id:
        # Stripe attaches it when the SetupIntent has a customer; some servers leave it to us.
        _attach(method, setup, payer, customer_id)
    return _save_card(setup, method, details, payer=payer, route=route)


def _refuse_unconfirmed(setup: CardSetup, intent) -> NoReturn:
    """The SetupIntent did not succeed: say why, as CardDeclined.

    Declined: localstripe cancels the SetupIntent; Stripe asks for another card and says why
    (last_setup_error). Never confirmed at all: the person can still enter it."""
    if intent.status == "canceled" or (intent.status == "requires_payment_method" and stripe_api.field(intent, "last_setup_error")):
        with write_transaction():
            db.session.get(CardSetup, setup.id).status = CardSetupStatus.FAILED
        raise CardDeclined(
            "Your card could not be saved: your bank declined it. Check the card number, expiry date and "
            "security code, or try another card."
        )
    raise CardDeclined("Your card has not been confirmed yet. Enter your card details and try again.")


def _attach(method, setup: CardSetup, payer: User, customer_id: str) -> None:
    """Attach the card to the payer's customer (a new customer if Stripe no longer has it)."""

    def attach(customer: str):
        return stripe_api.call(
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


def _save_card(setup: CardSetup, method, details: CardDetails, *, payer: User, route: FundingRoute) -> PaymentCard:
    """Save the card (once, however often the set-up is finished) and mark the set-up saved."""
    with write_transaction():
        setup = db.session.get(CardSetup, setup.id)
        card = db.session.execute(select(PaymentCard).where(PaymentCard.stripe_payment_method_id == method.id)).scalar_one_or_none()
        if card is None:
            card = PaymentCard(
                public_id=new_public_id(),
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


# A payer's saved cards --------------------------------------------------------------------------


def saved_cards(payer: User) -> list[PaymentCard]:
    return list(
        db.session.execute(
            select(PaymentCard)
            .where(PaymentCard.owner_id == payer.id, PaymentCard.removed_at.is_(None))
            .order_by(PaymentCard.created_at.desc())
        ).scalars()
    )


def owned_card(public_id: str, owner_id: int) -> PaymentCard | None:
    """One of the owner's saved cards (not removed), or None."""
    return db.session.execute(
        select(PaymentCard).where(PaymentCard.public_id == public_id, PaymentCard.owner_id == owner_id, PaymentCard.removed_at.is_(None))
    ).scalar_one_or_none()


def get_card(public_id: str, *, owner: User) -> PaymentCard:
    card = owned_card(public_id, owner.id)
    if card is None:
        raise NotFound("No such card")
    return card
