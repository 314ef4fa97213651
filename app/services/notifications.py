"""Notifications: a message in the person's account, and the same by email.

``notify(user, subject, body, link=None)`` is the one call other parts of the product use
to tell someone something happened (a reply, a booking, a decision). ``link`` is a local
path ("/enquiries/12"); the email gets the full address. Like ``audit.record`` it joins
the current unit of work and does not commit.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update

from app.database import utcnow
from app.extensions import db
from app.models import Notification, User
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


RECIPIENT_COLUMNS = (User.id, User.name, User.email, User.active)


def notify(user: User | Recipient, subject: str, body: str, link: str | None = None) -> Notification:
    if link is not None and (not link.startswith("/") or link.startswith("//")):
        raise ValueError("a notification links to a local path, like /enquiries/12")
    notification = Notification(user_id=user.id, subject=subject[:200], body=body, link=link)
    db.session.add(notification)
    if user.active:
        text = f"Hello {user.name},\n\n{body}"
        if link:
            text += f"\n\n{mail.public_url(link)}"
        mail.queue(user.email, subject, text)
    return notification


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
