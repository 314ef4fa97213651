"""Words a person can act on, for a card the bank refused."""

from __future__ import annotations

from app.formatting import format_pence
from app.models import CardFunding, FundingRoute, PaymentCard


def decline_message(code: str | None, decline_code: str | None, amount_pence: int | None, card: PaymentCard | None = None) -> str:
    """What to tell the card holder, from Stripe's error code and the bank's decline code."""
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
