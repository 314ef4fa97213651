"""Telling both sides what happened to a booking, through notifications (and so email).

Called inside the booking's own unit of work, so a change and its notifications are saved
together or not at all.
"""

from __future__ import annotations

from app.formatting import format_pence
from app.models import Booking, User
from app.services import accounts, notifications, team


def _citizen_side(booking: Booking) -> list[User]:
    people = {booking.citizen_id: booking.citizen}
    for representative in accounts.representatives_of(booking.citizen):
        people[representative.id] = representative
    return list(people.values())


def _provider_side(booking: Booking) -> list[User]:
    return [member.user for member in team.members(booking.provider)]


def _tell(users: list[User], subject: str, body: str, link: str) -> None:
    for user in users:
        notifications.notify(user, subject, body, link)


def booking_changed(booking: Booking, what: str, detail: str = "") -> None:
    ref, service, provider, citizen = booking.reference, booking.service.title, booking.provider.name, booking.citizen.name
    citizen_link = f"/bookings/{booking.public_id}"
    provider_link = f"/provider/bookings/{booking.public_id}"
    if what == "requested":
        _tell(
            _provider_side(booking),
            f"New booking request {ref}",
            f"{citizen} has asked to book {service} ({format_pence(booking.total_pence)}). Accept or decline it.",
            provider_link,
        )
        _tell(
            _citizen_side(booking),
            f"Booking {ref} sent to {provider}",
            f"Your booking for {service} has been sent to {provider}. We will tell you when they accept it.",
            citizen_link,
        )
    elif what == "accepted":
        _tell(
            _citizen_side(booking),
            f"{provider} accepted booking {ref}",
            f"{provider} has accepted your booking for {service}.",
            citizen_link,
        )
    elif what == "declined":
        _tell(
            _citizen_side(booking),
            f"{provider} declined booking {ref}",
            f"{provider} cannot take your booking for {service}: {booking.decline_reason}. The money set aside has been released.",
            citizen_link,
        )
    elif what == "cancelled":
        _tell(
            _provider_side(booking),
            f"Booking {ref} changed: visits cancelled",
            f"{citizen} cancelled visits for {service}. {detail}".strip(),
            provider_link,
        )
        _tell(
            _citizen_side(booking),
            f"Visits cancelled on booking {ref}",
            f"Visits for {service} with {provider} are cancelled. {detail}".strip(),
            citizen_link,
        )
    elif what == "delivered":
        _tell(
            _citizen_side(booking),
            f"Visit delivered: booking {ref}",
            f"{provider} recorded a visit for {service} as delivered. {detail}".strip(),
            citizen_link,
        )
    elif what == "money_short":
        body = (
            f"There is not enough money in the personal budget to cover all the booked visits for {service} in this 4-week period. "
            f"{detail} The visits stay booked but are not paid for yet."
        ).strip()
        _tell(
            _citizen_side(booking),
            f"Not enough money for booking {ref}",
            body + " Cancel some visits or contact the council.",
            citizen_link,
        )
        _tell(_provider_side(booking), f"Booking {ref}: visits not covered", body + " Please wait before delivering them.", provider_link)
    elif what == "money_covered":
        body = f"Money from the personal budget is now set aside for booked visits of {service} that were not covered. {detail}".strip()
        _tell(_citizen_side(booking), f"Visits now covered: booking {ref}", body, citizen_link)
        _tell(_provider_side(booking), f"Booking {ref}: visits now covered", body + " You can deliver them as booked.", provider_link)
    elif what == "payment_failed":
        body = (
            f"A card payment for a visit of {service} with {provider} could not be taken, so it is still to pay. "
            "Pay it with a card from the “How to pay” page, or ask the card holder to."
        )
        _tell(_card_side(booking), f"Card payment failed: booking {ref}", body, "/payments/owed")
        _tell(
            _provider_side(booking),
            f"Booking {ref}: card payment failed",
            f"The card payment from {citizen} for a delivered visit failed. They have been asked to pay; you will be paid once they do.",
            provider_link,
        )
    elif what == "refunded":
        _tell(
            _card_side(booking),
            f"Refund made: booking {ref}",
            f"{provider} or the council made a refund to the card that paid for {service}. The booking shows how much and why.",
            citizen_link,
        )
    elif what == "refund_failed":
        _tell(
            _card_side(booking),
            f"Refund not made: booking {ref}",
            f"A refund to the card that paid for {service} could not be made. The booking shows why; contact the council if you need help.",
            citizen_link,
        )
        _tell(
            _provider_side(booking),
            f"Booking {ref}: refund not made",
            "A refund on this booking could not be made by the card processor. The booking shows why.",
            provider_link,
        )
    elif what == "duplicate_payment":
        body = (
            f"A visit of {service} with {provider} was paid by card twice. The second payment is being refunded to the card "
            "automatically: nothing needs doing."
        )
        _tell(_card_side(booking), f"Paid twice, refund on its way: booking {ref}", body, citizen_link)
        _tell(
            _provider_side(booking),
            f"Booking {ref}: a double card payment is being refunded",
            f"{citizen}'s card paid a visit twice. You are paid once; the second payment is refunded to the card automatically.",
            provider_link,
        )
    elif what == "not_owed_payment":
        body = (
            f"A card paid for a visit of {service} with {provider} that is not owed (it was cancelled in time or declined, "
            "or the card paid more than the visit's charge). That money is being refunded to the card automatically: nothing needs doing."
        )
        _tell(_card_side(booking), f"Refund on its way: booking {ref}", body, citizen_link)
        _tell(
            _provider_side(booking),
            f"Booking {ref}: a card payment that is not owed is being refunded",
            f"{citizen}'s card paid for a visit that is not owed. "
            "The money is refunded to the card automatically; nothing comes to you for it.",
            provider_link,
        )


def _card_side(booking: Booking) -> list[User]:
    """The citizen's side and, if someone else's card paid, the card's holder."""
    from app.extensions import db
    from app.models import BookingCard

    people = {user.id: user for user in _citizen_side(booking)}
    link = db.session.get(BookingCard, booking.id)
    if link is not None:
        people.setdefault(link.card.owner_id, link.card.owner)
    return list(people.values())
