"""Calendar feeds: a secret web address per person that phone and desktop calendars
subscribe to, to see that person's care visits. Only the SHA-256 of the secret is stored
(like sign-in cookies and emailed links); the address is shown to its owner once.

A feed is turned off, never deleted: ``revoked_at`` set. A person has at most one live
feed (a partial unique index), so making a new address always ends the old one.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import UTCDateTime, utcnow
from app.extensions import db


class CalendarFeed(db.Model):
    """One secret calendar address of one person, live until it is turned off or replaced."""

    __tablename__ = "calendar_feeds"
    __table_args__ = (
        Index(
            "uq_calendar_feeds_live_user",
            "user_id",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # When a calendar last fetched the feed (to the nearest few minutes: see the service).
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    user = relationship("User", lazy="joined")

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None
