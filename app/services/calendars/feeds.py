"""The secret calendar address: made, replaced, turned off, and found again when a
calendar fetches it.

The address carries a random secret (``tokens.new_token``: 256 bits); only its SHA-256 is
stored, so the address is shown to its owner once, when it is made, like an API key. A
person has at most one live address (a partial unique index): making a new one turns the
old one off in the same unit of work. A turned-off address answers "not found" from the
next request on. Making and turning off are in the audit trail.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from app.database import utcnow, write_transaction
from app.extensions import db
from app.models import CalendarFeed, User
from app.services import audit
from app.services.calendars.whose import may_have_feed
from app.services.errors import Conflict, NotFound
from app.services.tokens import new_token, token_hash

# A secret is 43 characters; anything much longer is not one of ours (and is not hashed).
MAX_SECRET = 100
# How often "last used" is written: a calendar fetching every few minutes costs no more.
LAST_USED_EVERY = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class NewFeed:
    feed: CalendarFeed
    secret: str  # shown once, in the address; never stored


def live_feed(user: User) -> CalendarFeed | None:
    """The person's address that works now, if they have one."""
    return db.session.execute(
        select(CalendarFeed).where(CalendarFeed.user_id == user.id, CalendarFeed.revoked_at.is_(None))
    ).scalar_one_or_none()


def new_feed(user: User, *, ip_address: str | None = None, now: dt.datetime | None = None) -> NewFeed:
    """Make a new secret address for the person's visits. An address they had stops working
    at once. Audited (the old address turned off, the new one made)."""
    if not may_have_feed(user):
        raise NotFound("No calendar for this account")
    now = now or utcnow()
    secret = new_token()
    try:
        with write_transaction():
            old = _turn_off_live(user, now)
            feed = CalendarFeed(user_id=user.id, token_hash=token_hash(secret), created_at=now)
            db.session.add(feed)
            db.session.flush()
            if old is not None:
                audit.record(user, "calendar.feed_revoked", "calendar_feed", old, note="Replaced by a new link", ip_address=ip_address)
            audit.record(user, "calendar.feed_created", "calendar_feed", feed.id, after={"replaces": old}, ip_address=ip_address)
    except IntegrityError:
        db.session.rollback()
        raise Conflict("A new calendar link was made a moment ago, perhaps in another window: make another to see it") from None
    return NewFeed(feed, secret)


def turn_off(user: User, *, ip_address: str | None = None, now: dt.datetime | None = None) -> int | None:
    """Turn the person's address off: calendars that fetch it get "not found" from now on.
    Returns the id of the address turned off, or None if there was none. Audited."""
    now = now or utcnow()
    with write_transaction():
        old = _turn_off_live(user, now)
        if old is not None:
            audit.record(user, "calendar.feed_revoked", "calendar_feed", old, note="Turned off", ip_address=ip_address)
    return old


def _turn_off_live(user: User, now: dt.datetime) -> int | None:
    """Inside a unit of work: end the live address, with a conditional update (of two
    people ending it at once, one does). Its id, or None."""
    feed_id = db.session.execute(
        select(CalendarFeed.id).where(CalendarFeed.user_id == user.id, CalendarFeed.revoked_at.is_(None))
    ).scalar_one_or_none()
    if feed_id is None:
        return None
    ended = db.session.execute(
        update(CalendarFeed).where(CalendarFeed.id == feed_id, CalendarFeed.revoked_at.is_(None)).values(revoked_at=now)
    ).rowcount
    return feed_id if ended == 1 else None


def feed_for_secret(secret: str, *, now: dt.datetime | None = None) -> CalendarFeed:
    """The live address this secret opens, its use noted; NotFound for anything else (an
    unknown or turned-off secret, or an account that is closed or has no visits to follow)."""
    if not secret or len(secret) > MAX_SECRET:
        raise NotFound("No such calendar")
    feed = db.session.execute(
        select(CalendarFeed).where(CalendarFeed.token_hash == token_hash(secret), CalendarFeed.revoked_at.is_(None))
    ).scalar_one_or_none()
    if feed is None or not may_have_feed(feed.user):
        raise NotFound("No such calendar")
    _note_use(feed, now or utcnow())
    return feed


def _note_use(feed: CalendarFeed, now: dt.datetime) -> None:
    """Record when the address was last fetched, at most once every few minutes."""
    with write_transaction():
        db.session.execute(
            update(CalendarFeed)
            .where(
                CalendarFeed.id == feed.id,
                or_(CalendarFeed.last_used_at.is_(None), CalendarFeed.last_used_at < now - LAST_USED_EVERY),
            )
            .values(last_used_at=now)
        )
