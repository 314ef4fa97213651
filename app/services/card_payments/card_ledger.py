"""Where card money sits in the ledger: each saved card's own account (money from the card
holder, negative by what the card paid), the clearing account (card money with the card
processor: refunds in flight), and releasing a payment's hold back to its card."""

from __future__ import annotations

from app.extensions import db
from app.models import AccountKind, CardPayment, HoldStatus, LedgerAccount, LedgerHold, PaymentCard, User
from app.services import ledger
from app.services.ledger import Actor


def card_account(card: PaymentCard) -> LedgerAccount:
    owner = card.owner or db.session.get(User, card.owner_id)
    return ledger.account(AccountKind.SELF_FUNDED, f"card:{card.id}", f"Paid by {card.description} ({owner.name})"[:200])


def clearing_account() -> LedgerAccount:
    return ledger.account(AccountKind.CARD_CLEARING, "stripe", "Card payments in transit (card processor)")


def release_payment_hold(payment: CardPayment, actor: Actor, memo: str) -> None:
    """Give back to the card what an authorisation held, if it still holds it."""
    if payment.hold_id is None:
        return
    held = db.session.get(LedgerHold, payment.hold_id)
    if held.status is HoldStatus.HELD:
        ledger.settle_hold(held, capture_pence=0, payee=None, actor=actor, memo=memo)
