"""Enquiries: a citizen (or their representative) asks a provider about a service before
booking. Each enquiry is one thread, in the citizen side's inbox and the provider's;
each new message notifies the other side. Providers see how quickly they answer.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass

from sqlalchemy import func, or_, select

from app.database import utcnow
from app.extensions import db
from app.models import Enquiry, EnquiryMessage, EnquiryStatus, Provider, ProviderStatus, Role, Service, ServiceStatus, User
from app.services import accounts, notifications, provider_contact, team
from app.services.errors import Conflict, NotFound, ValidationError
from app.services.pagination import Page, paginate

MAX_BODY = 5000
MAX_SUBJECT = 160
RESPONSE_WINDOW_DAYS = 90


def _clean_body(body: str | None) -> str:
    text = (body or "").strip()
    if not text:
        raise ValidationError({"body": "Enter your message"})
    if len(text) > MAX_BODY:
        raise ValidationError({"body": f"Your message must be {MAX_BODY:,} characters or fewer"})
    return text


def enquirable_service(service_id: int) -> Service:
    """A service people can ask about: published, by a verified provider."""
    service = db.session.get(Service, service_id)
    if service is None or service.status is not ServiceStatus.PUBLISHED or service.provider.status is not ProviderStatus.VERIFIED:
        raise NotFound("No such service")
    if not provider_contact.can_be_reached(service.provider):
        raise Conflict(provider_contact.unreachable_message(service.provider))
    return service


def start(author: User, citizen: User, service: Service, *, subject: str, body: str) -> Enquiry:
    """Ask a provider a question, for ``citizen`` (the author or someone they act for)."""
    if not accounts.can_act_for(author, citizen):
        raise NotFound("No such person")
    if not provider_contact.can_be_reached(service.provider):
        raise Conflict(provider_contact.unreachable_message(service.provider))
    subject = " ".join((subject or "").split())
    errors = {}
    if not subject:
        errors["subject"] = "Enter a subject"
    elif len(subject) > MAX_SUBJECT:
        errors["subject"] = f"Subject must be {MAX_SUBJECT} characters or fewer"
    try:
        body = _clean_body(body)
    except ValidationError as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationError(errors)
    now = utcnow()
    enquiry = Enquiry(
        service_id=service.id,
        provider_id=service.provider_id,
        citizen_id=citizen.id,
        started_by_id=author.id,
        subject=subject,
        created_at=now,
        last_message_at=now,
        citizen_read_at=now,
        awaiting_citizen=False,
    )
    enquiry.messages.append(EnquiryMessage(author_id=author.id, from_provider=False, body=body, created_at=now))
    db.session.add(enquiry)
    db.session.flush()
    on_behalf = f" for {citizen.name}" if author.id != citizen.id else ""
    _notify_provider(enquiry, f"New enquiry about {service.title}", f"{author.name}{on_behalf} asked: {subject}")
    _notify_citizen_side(
        enquiry,
        author,
        f"Your enquiry to {service.provider.name} has been sent",
        f"{author.name} asked {service.provider.name} about {service.title}. You will get a notification when they reply.",
    )
    db.session.commit()
    return enquiry


def _notify_provider(enquiry: Enquiry, subject: str, body: str) -> None:
    provider = enquiry.provider
    provider_contact.tell(
        provider, provider_contact.everyone(provider), subject=subject, body=body, link=f"/provider/enquiries/{enquiry.id}"
    )


def _citizen_side(enquiry: Enquiry) -> list[User]:
    return [enquiry.citizen, *accounts.representatives_of(enquiry.citizen)]


def _notify_citizen_side(enquiry: Enquiry, author: User | None, subject: str, body: str) -> None:
    for person in _citizen_side(enquiry):
        if author is not None and person.id == author.id:
            continue
        notifications.notify(person, subject, body, link=f"/enquiries/{enquiry.id}")


# -- The citizen's side ----------------------------------------------------------------


def _visible_citizen_ids(user: User) -> list[int]:
    return [person.id for person in accounts.people_user_acts_for(user)]


def for_citizen_side(user: User, page: int = 1, citizen_id: int | None = None) -> Page[Enquiry]:
    """Enquiries for the citizen, or for everyone a representative acts for."""
    ids = _visible_citizen_ids(user)
    if citizen_id is not None:
        ids = [i for i in ids if i == citizen_id]
    query = select(Enquiry).where(Enquiry.citizen_id.in_(ids or [-1])).order_by(Enquiry.last_message_at.desc(), Enquiry.id.desc())
    return paginate(query, page, 20)


def unread_count_for_citizen_side(user: User) -> int:
    ids = _visible_citizen_ids(user)
    if not ids:
        return 0
    return db.session.execute(
        select(func.count(Enquiry.id)).where(
            Enquiry.citizen_id.in_(ids),
            Enquiry.awaiting_citizen.is_(True),
            or_(Enquiry.citizen_read_at.is_(None), Enquiry.citizen_read_at < Enquiry.last_message_at),
        )
    ).scalar_one()


def get_for_citizen_side(user: User, enquiry_id: int) -> Enquiry:
    enquiry = db.session.get(Enquiry, enquiry_id)
    if enquiry is None or not accounts.can_act_for(user, enquiry.citizen):
        raise NotFound("No such enquiry")
    return enquiry


def reply_as_citizen_side(user: User, enquiry: Enquiry, body: str) -> EnquiryMessage:
    if not accounts.can_act_for(user, enquiry.citizen):
        raise NotFound("No such enquiry")
    body = _clean_body(body)
    message = _add_message(enquiry, user, body, from_provider=False)
    enquiry.citizen_read_at = message.created_at
    _notify_provider(enquiry, f"New message about {enquiry.service.title}", f"{user.name} wrote about \u201c{enquiry.subject}\u201d.")
    _notify_citizen_side(enquiry, user, f"New message about {enquiry.service.title}", f"{user.name} wrote to {enquiry.provider.name}.")
    db.session.commit()
    return message


def _add_message(enquiry: Enquiry, author: User, body: str, *, from_provider: bool) -> EnquiryMessage:
    now = utcnow()
    message = EnquiryMessage(author_id=author.id, from_provider=from_provider, body=body, created_at=now)
    enquiry.messages.append(message)
    enquiry.last_message_at = now
    enquiry.awaiting_citizen = from_provider
    enquiry.status = EnquiryStatus.OPEN
    return message


def mark_read_by_citizen_side(enquiry: Enquiry) -> None:
    if enquiry.unread_for_citizen:
        enquiry.citizen_read_at = utcnow()
        db.session.commit()


# -- The provider's side ---------------------------------------------------------------


def for_provider(provider: Provider, page: int = 1, waiting_only: bool = False) -> Page[Enquiry]:
    query = select(Enquiry).where(Enquiry.provider_id == provider.id)
    if waiting_only:
        query = query.where(Enquiry.awaiting_citizen.is_(False), Enquiry.status == EnquiryStatus.OPEN)
    return paginate(query.order_by(Enquiry.last_message_at.desc(), Enquiry.id.desc()), page, 20)


def waiting_count(provider: Provider) -> int:
    return db.session.execute(
        select(func.count(Enquiry.id)).where(
            Enquiry.provider_id == provider.id, Enquiry.awaiting_citizen.is_(False), Enquiry.status == EnquiryStatus.OPEN
        )
    ).scalar_one()


def get_for_provider(user: User, enquiry_id: int) -> Enquiry:
    provider = accounts.provider_for_staff(user)
    enquiry = db.session.get(Enquiry, enquiry_id)
    if enquiry is None or provider is None or enquiry.provider_id != provider.id:
        raise NotFound("No such enquiry")
    return enquiry


def reply_as_provider(user: User, enquiry: Enquiry, body: str) -> EnquiryMessage:
    membership = accounts.staff_membership(user)
    if membership is None or membership.provider_id != enquiry.provider_id:
        raise NotFound("No such enquiry")
    team.require(membership, "answer_enquiries")
    body = _clean_body(body)
    message = _add_message(enquiry, user, body, from_provider=True)
    if enquiry.first_response_at is None:
        enquiry.first_response_at = message.created_at
    enquiry.provider_read_at = message.created_at
    _notify_citizen_side(
        enquiry,
        None,
        f"{enquiry.provider.name} has replied",
        f"{enquiry.provider.name} replied to your enquiry \u201c{enquiry.subject}\u201d.",
    )
    db.session.commit()
    return message


def mark_read_by_provider(enquiry: Enquiry) -> None:
    if enquiry.unread_for_provider:
        enquiry.provider_read_at = utcnow()
        db.session.commit()


def close(user: User, enquiry: Enquiry) -> Enquiry:
    """Either side marks the question as answered; a new message opens it again."""
    membership = accounts.staff_membership(user)
    on_provider_side = membership is not None and membership.provider_id == enquiry.provider_id
    if not on_provider_side and not accounts.can_act_for(user, enquiry.citizen):
        raise NotFound("No such enquiry")
    if enquiry.status is EnquiryStatus.CLOSED:
        raise Conflict("This enquiry is already closed.")
    enquiry.status = EnquiryStatus.CLOSED
    db.session.commit()
    return enquiry


@dataclass(frozen=True)
class ResponseTimes:
    """How quickly a provider answers new enquiries (first replies, last 90 days)."""

    answered: int
    unanswered: int
    median: dt.timedelta | None
    within_one_working_day_percent: int | None

    @property
    def median_text(self) -> str:
        if self.median is None:
            return "No replies yet"
        return describe_duration(self.median)


def describe_duration(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{max(minutes, 1)} minute{'s' if minutes != 1 else ''}"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    days = hours // 24
    return f"{days} days"


def response_times(provider: Provider, now: dt.datetime | None = None) -> ResponseTimes:
    now = now or utcnow()
    since = now - dt.timedelta(days=RESPONSE_WINDOW_DAYS)
    rows = db.session.execute(
        select(Enquiry.created_at, Enquiry.first_response_at).where(Enquiry.provider_id == provider.id, Enquiry.created_at >= since)
    ).all()
    delays = [answered - asked for asked, answered in rows if answered is not None]
    unanswered = sum(1 for _, answered in rows if answered is None)
    if not delays:
        return ResponseTimes(0, unanswered, None, None)
    quick = sum(1 for d in delays if d <= dt.timedelta(hours=24))
    return ResponseTimes(len(delays), unanswered, statistics.median(delays), round(100 * quick / len(delays)))


def citizen_choices_for(user: User) -> list[User]:
    """Who this user can ask on behalf of (for the 'who is this for' question)."""
    if user.role not in (Role.CITIZEN, Role.REPRESENTATIVE):
        return []
    return accounts.people_user_acts_for(user)
