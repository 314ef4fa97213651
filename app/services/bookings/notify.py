"""Telling both sides what happened to a booking, through notifications (and so email).

Called inside the booking's own unit of work, so a change and its notifications are saved
together or not at all. What each side is told is the table ``NOTICES``: one entry per
kind of change, one notice per side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from sqlalchemy import Table, bindparam, null, select, union_all, update

from app.database import utcnow, write_transaction
from app.extensions import db
from app.formatting import format_pence
from app.models import Booking, BookingCard, ProviderStaff, Representation, User
from app.services import notifications, provider_contact

CITIZEN_LINK = "/bookings/{public_id}"
PROVIDER_LINK = "/provider/bookings/{public_id}"


@dataclass(frozen=True)
class Notice:
    """What one side is told: ``side`` is "citizen" (the citizen and their representatives),
    "provider" (its team), "leads" (the provider's owners and managers, who answer requests)
    or "card" (the citizen's side and the holder of the card that paid). Texts are templates
    over the booking's facts and the change's ``detail``."""

    side: str
    subject: str
    body: str
    link: str


_MONEY_SHORT = (
    "There is not enough money in the personal budget to cover all the booked visits for {service} in this 4-week period. "
    "{detail} The visits stay booked but are not paid for yet."
)
_MONEY_COVERED = "Money from the personal budget is now set aside for booked visits of {service} that were not covered. {detail}"

NOTICES: dict[str, tuple[Notice, ...]] = {
    "requested": (
        Notice(
            "leads", "New booking request {ref}", "{citizen} has asked to book {service} ({total}). Accept or decline it.", PROVIDER_LINK
        ),
        Notice(
            "citizen",
            "Booking {ref} sent to {provider}",
            "Your booking for {service} has been sent to {provider}. We will tell you when they accept it.",
            CITIZEN_LINK,
        ),
    ),
    "accepted": (
        Notice("citizen", "{provider} accepted booking {ref}", "{provider} has accepted your booking for {service}.", CITIZEN_LINK),
    ),
    "declined": (
        Notice(
            "citizen",
            "{provider} declined booking {ref}",
            "{provider} cannot take your booking for {service}: {decline_reason}. The money set aside has been released.",
            CITIZEN_LINK,
        ),
    ),
    "expired": (
        Notice(
            "citizen",
            "Booking {ref} expired: {provider} did not answer",
            "{provider} did not accept or decline your booking for {service} within {detail} hours, so the request has expired. "
            "The money set aside has been released. The booking's page shows other services that could provide these visits.",
            CITIZEN_LINK,
        ),
        Notice(
            "leads",
            "Booking request {ref} expired",
            "The request from {citizen} for {service} ({total}) was not accepted or declined within {detail} hours, so it has expired. "
            "{citizen} has been told and shown other services. Answer requests sooner to keep them.",
            PROVIDER_LINK,
        ),
    ),
    "cancelled": (
        Notice("provider", "Booking {ref} changed: visits cancelled", "{citizen} cancelled visits for {service}. {detail}", PROVIDER_LINK),
        Notice(
            "citizen", "Visits cancelled on booking {ref}", "Visits for {service} with {provider} are cancelled. {detail}", CITIZEN_LINK
        ),
    ),
    "delivered": (
        Notice(
            "citizen",
            "Visit delivered: booking {ref}",
            "{provider} recorded a visit for {service} as delivered. {detail} "
            "If it did not happen as recorded, say so on the booking's page.",
            CITIZEN_LINK,
        ),
    ),
    "missed": (
        Notice("citizen", "Visit missed: booking {ref}", "{provider} recorded a visit for {service} as missed. {detail}", CITIZEN_LINK),
    ),
    "disputed": (
        Notice(
            "provider",
            "Visit disputed: booking {ref}",
            "{citizen} says a visit for {service} did not happen as recorded. {detail}",
            PROVIDER_LINK,
        ),
    ),
    "dispute_settled": (
        Notice("provider", "Disputed visit settled: booking {ref}", "{detail}", PROVIDER_LINK),
        Notice("citizen", "Disputed visit settled: booking {ref}", "{detail}", CITIZEN_LINK),
    ),
    "money_short": (
        Notice("citizen", "Not enough money for booking {ref}", _MONEY_SHORT + " Cancel some visits or contact the council.", CITIZEN_LINK),
        Notice("provider", "Booking {ref}: visits not covered", _MONEY_SHORT + " Please wait before delivering them.", PROVIDER_LINK),
    ),
    "money_covered": (
        Notice("citizen", "Visits now covered: booking {ref}", _MONEY_COVERED, CITIZEN_LINK),
        Notice("provider", "Booking {ref}: visits now covered", _MONEY_COVERED + " You can deliver them as booked.", PROVIDER_LINK),
    ),
    "payment_failed": (
        Notice(
            "card",
            "Card payment failed: booking {ref}",
            "A card payment for a visit of {service} with {provider} could not be taken, so it is still to pay. "
            "Pay it with a card from the “How to pay” page, or ask the card holder to.",
            "/payments/owed",
        ),
        Notice(
            "provider",
            "Booking {ref}: card payment failed",
            "The card payment from {citizen} for a delivered visit failed. They have been asked to pay; you will be paid once they do.",
            PROVIDER_LINK,
        ),
    ),
    "refunded": (
        Notice(
            "card",
            "Refund made: booking {ref}",
            "{provider} or the council made a refund to the card that paid for {service}. The booking shows how much and why.",
            CITIZEN_LINK,
        ),
    ),
    "refund_failed": (
        Notice(
            "card",
            "Refund not made: booking {ref}",
            "A refund to the card that paid for {service} could not be made. The booking shows why; contact the council if you need help.",
            CITIZEN_LINK,
        ),
        Notice(
            "provider",
            "Booking {ref}: refund not made",
            "A refund on this booking could not be made by the card processor. The booking shows why.",
            PROVIDER_LINK,
        ),
    ),
    "duplicate_payment": (
        Notice(
            "card",
            "Paid twice, refund on its way: booking {ref}",
            "A visit of {service} with {provider} was paid by card twice. The second payment is being refunded to the card "
            "automatically: nothing needs doing.",
            CITIZEN_LINK,
        ),
        Notice(
            "provider",
            "Booking {ref}: a double card payment is being refunded",
            "{citizen}'s card paid a visit twice. You are paid once; the second payment is refunded to the card automatically.",
            PROVIDER_LINK,
        ),
    ),
    "clearing_repaid": (
        Notice(
            "card",
            "Money repaid: booking {ref}",
            "The card processor could not refund money a card paid for {service} with {provider} that was not owed, "
            "so the council has repaid it to the card holder another way. The booking shows how.",
            CITIZEN_LINK,
        ),
    ),
    "clearing_kept": (
        Notice(
            "card",
            "Payment kept: booking {ref}",
            "The council has decided that money a card paid for {service} with {provider}, which was to be refunded, "
            "was owed after all. The booking shows why; contact the council if you disagree.",
            CITIZEN_LINK,
        ),
        Notice(
            "provider",
            "Booking {ref}: a card payment is yours after all",
            "The council has decided that a card payment from {citizen} that was to be refunded was owed for a visit. "
            "It is added to what you are paid in the next payment run.",
            PROVIDER_LINK,
        ),
    ),
    "not_owed_payment": (
        Notice(
            "card",
            "Refund on its way: booking {ref}",
            "A card paid for a visit of {service} with {provider} that is not owed (it was cancelled in time or declined, "
            "or the card paid more than the visit's charge). That money is being refunded to the card automatically: nothing needs doing.",
            CITIZEN_LINK,
        ),
        Notice(
            "provider",
            "Booking {ref}: a card payment that is not owed is being refunded",
            "{citizen}'s card paid for a visit that is not owed. "
            "The money is refunded to the card automatically; nothing comes to you for it.",
            PROVIDER_LINK,
        ),
    ),
}


def booking_changed(booking: Booking, what: str, detail: str = "", also: Sequence[tuple[Table, list[dict]]] = ()) -> None:
    """Tell each side what ``NOTICES[what]`` says, inside the caller's unit of work (with
    ``also``, rows to write with the notices: ``notifications.notify_each``)."""
    facts = {
        "ref": booking.reference,
        "service": booking.service.title,
        "provider": booking.provider.name,
        "citizen": booking.citizen.name,
        "total": format_pence(booking.total_pence),
        "decline_reason": booking.decline_reason,
        "detail": detail,
        "public_id": booking.public_id,
    }
    # Everyone to tell is looked up (in one query) first, so the notices and their emails are
    # written together, one insert each.
    people = _people(booking, {notice.side for notice in NOTICES[what]})
    messages: list[notifications.Message] = []
    for notice in NOTICES[what]:
        subject, body, link = (text.format(**facts).strip() for text in (notice.subject, notice.body, notice.link))
        if notice.side in ("provider", "leads"):
            # Before anyone from the provider has signed up, its contact email hears of it.
            messages += provider_contact.to_tell(booking.provider, people[notice.side], subject=subject, body=body, link=link)
        else:
            messages += [notifications.Message(user, subject, body, link) for user in people[notice.side]]
    notifications.notify_each(messages, also)


def _people(booking: Booking, sides: set[str]) -> dict[str, list[User | notifications.Recipient]]:
    """Who is on each of ``sides``: "citizen" (the citizen and everyone who acts for them),
    "provider" (its team who can sign in), "leads" (``provider_contact.leads``), "card"
    (the citizen's side and, if someone else's card paid, the card's holder). The team and
    the representatives are read in one query, as no more than ``notify`` needs of them."""
    query = _people_query(bool(sides & {"provider", "leads"}), bool(sides & {"citizen", "card"}))
    rows = []
    if query is not None:
        found = db.session.execute(query, {"provider_id": booking.provider_id, "citizen_id": booking.citizen_id})
        rows = [(notifications.Recipient(*row[:-1]), row[-1]) for row in found]
    team = [(person, org_role) for person, org_role in rows if org_role is not None]
    citizen_side = {booking.citizen_id: booking.citizen} | {
        person.id: person for person, org_role in rows if org_role is None and person.active
    }
    people = {"citizen": list(citizen_side.values())}
    if sides & {"provider", "leads"}:
        people |= {"provider": provider_contact.everyone_of(team), "leads": provider_contact.leads_of(team)}
    if "card" in sides:
        link = db.session.get(BookingCard, booking.id)
        if link is not None:
            citizen_side.setdefault(link.card.owner_id, link.card.owner)
        people["card"] = list(citizen_side.values())
    return people


@cache
def _people_query(team: bool, representatives: bool):
    """``_people``'s query, built once per process for each mix of sides: the provider's
    team (with their roles) and the citizen's representatives (no role), in order of name."""
    parts = []
    if team:
        staff = ProviderStaff.__table__
        parts.append(select(staff.c.user_id, staff.c.org_role).where(staff.c.provider_id == bindparam("provider_id")))
    if representatives:
        acting = Representation.__table__
        acting_now = select(acting.c.representative_id.label("user_id"), null().label("org_role"))
        parts.append(acting_now.where(acting.c.citizen_id == bindparam("citizen_id"), acting.c.ended_at.is_(None)))
    if not parts:
        return None
    found = (union_all(*parts) if len(parts) > 1 else parts[0]).subquery()
    users = User.__table__
    return select(*notifications.RECIPIENT_COLUMNS, found.c.org_role).join(found, found.c.user_id == users.c.id).order_by(users.c.name)


def tell_requested(booking: Booking) -> None:
    """Inside a unit of work: tell both sides about a new request, exactly once (the
    notifications and the mark that they were sent commit together)."""
    table = Booking.__table__
    claimed = db.session.execute(
        update(table).where(table.c.id == booking.id, table.c.requested_notified_at.is_(None)).values(requested_notified_at=utcnow())
    ).rowcount
    if claimed == 1:
        booking_changed(booking, "requested")
    db.session.expire(booking, ["requested_notified_at", "updated_at"])


def announce_request(booking: Booking) -> None:
    """Tell both sides about a request whose payment was settled after it was saved (a
    card booking). A budget booking told them in its own unit of work already."""
    if db.session.get(Booking, booking.id).requested_notified_at is not None:
        return
    with write_transaction():
        fresh = db.session.get(Booking, booking.id)
        if fresh.status.is_open:
            tell_requested(fresh)


def notify_booking_change(booking: Booking, what: str, detail: str = "") -> None:
    """Tell both sides about a change that happened outside a booking step's own unit of
    work (a card payment's outcome). A new request is told once, by ``tell_requested``."""
    with write_transaction():
        booking_changed(db.session.get(Booking, booking.id), what, detail)
