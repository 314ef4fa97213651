"""Notifications: a message in the person's account, and the same by email.

``notify(user, subject, body, link=None)`` is the one call other parts of the product use
to tell someone something happened (a reply, a booking, a decision); ``notify_each`` tells
several at once, as a booking's change tells both sides. ``link`` is a local path
("/enquiries/12"); the email gets the full address. Like ``audit.record`` both join the
current unit of work and do not commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import Table, func, select, update

from app.database import insert_together, utcnow
from app.extensions import db
from app.models import Notification, OutboundEmail, User
from app.services import mail
from app.services.errors import NotFound
from app.services.pagination import Page, paginate


@dataclass(frozen=True)
class Recipient:
    """Someone to tell, as much of them as ``notify`` reads (a ``User`` does as well): read
    with ``RECIPIENT_COLUMNS`` where many are told at once, without loading whole accounts."""

    id: int
    name: str
    email: str
    active: bool


# The table's own columns, so a query of them is plain SQL (no ORM result processing).
RECIPIENT_COLUMNS = tuple(User.__table__.c[name] for name in ("id", "name", "email", "active"))


class Message(NamedTuple):
    """One notification to send with ``notify_each``."""

    user: User | Recipient
    subject: str
    body: str
    link: str | None = None


def notify(user: User | Recipient, subject: str, body: str, link: str | None = None) -> Notification:
    _check_link(link)
    notification = Notification(user_id=user.id, subject=subject[:200], body=body, link=link)
    db.session.add(notification)
    if user.active:
        mail.queue(user.email, subject, _email_text(user, body, link))
    return notification


def notify_each(messages: list[Message], also: Sequence[tuple[Table, list[dict]]] = ()) -> None:
    """``notify`` for several messages at once: the notifications and their emails written
    now, in the current unit of work, with ``also`` (other rows to write: a booking's
    timeline line), in one statement on PostgreSQL (``insert_together``); nothing is loaded
    back."""
    if not messages:
        return
    for message in messages:
        _check_link(message.link)
    now = utcnow()
    rows = [{"user_id": m.user.id, "subject": m.subject[:200], "body": m.body, "link": m.link, "created_at": now} for m in messages]
    emails = [(m.user.email, m.subject, _email_text(m.user, m.body, m.link)) for m in messages if m.user.active]
    insert_together([(Notification.__table__, rows), (OutboundEmail.__table__, mail.outbox_rows(emails, now=now)), *also])
    if emails:
        mail.mark_queued()


def _check_link(link: str | None) -> None:
    if link is not None and (not link.startswith("/") or link.startswith("//")):
        raise ValueError("a notification links to a local path, like /enquiries/12")


def _email_text(user: User | Recipient, body: str, link: str | None) -> str:
    text = f"Hello {user.name},\n\n{body}"
    if link:
        text += f"\n\n{mail.public_url(link)}"
    return text


def unread_count(user: User) -> int:
    return db.session.execute(
        select(func.count(Notification.id)).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    ).scalar_one()


def for_user(user: User, page: int = 1, per_page: int = 30) -> Page[Notification]:
    query = select(Notification).where(Notification.user_id == user.id).order_by(Notification.id.desc())
    return paginate(query, page, per_page)


def mark_all_read(user: User) -> int:
    count = db.session.execute(
        update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None)).values(read_at=utcnow())
    ).rowcount
    db.session.commit()
    return count


def open_notification(user: User, notification_id: int) -> Notification:
    """Mark one of the user's notifications read and return it (someone else's: NotFound)."""
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != user.id:
        raise NotFound("No such notification")
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.session.commit()
    return notification
