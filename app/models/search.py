"""Search: the index outbox (changes waiting to reach the search index) and the search log
(what people looked for, with no personal data, for commissioners' demand reports)."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.database import UTCDateTime, utcnow
from app.extensions import db
from app.models.base import enum_column
from app.models.providers import CQCRating
from app.models.services import FundingRoute, PeopleGroup

# A 64-bit key that is still SQLite's auto-incrementing rowid.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class OutboxEntity(str, enum.Enum):
    """What changed. The drainer turns each into the services whose documents to rewrite."""

    SERVICE = "service"
    PROVIDER = "provider"  # every service of the provider
    CATEGORY = "category"  # every service in the category (a lot or category changed)


class SearchOutboxEntry(db.Model):
    """One change to what search shows: an append-only log that every host's index reads.

    Rows are written in the same database transaction as the change itself (by ORM events
    in services/search/outbox.py), so a change can never be committed without its row, and
    are pruned only once every live index (``search_index_readers``) has read them.

    ``xact`` is the inserting transaction on PostgreSQL (a server default,
    ``pg_current_xact_id()``): ids from a sequence become visible out of order, so readers
    follow transactions, not ids (services/search/cursor.py). NULL on SQLite, whose
    writers are serialised, so ids become visible in order."""

    __tablename__ = "search_outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entity: Mapped[OutboxEntity] = mapped_column(enum_column(OutboxEntity, "outbox_entity"), nullable=False)
    entity_id: Mapped[int] = mapped_column(Integer, nullable=False)
    queued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    xact: Mapped[int | None] = mapped_column(BigInteger, index=True)


class SearchIndexReader(db.Model):
    """One search index (a folder on one host) and how far it has read the log.

    ``cursor`` is the reader's own description of what it has read (PostgreSQL: the
    snapshot it last read under, ``xmin:xmax:xip,...``; SQLite: the last id); ``position``
    is what pruning needs from it (PostgreSQL: the snapshot's xmin, every transaction
    before it read; SQLite: the last id). A reader not seen for a week is deleted: its
    index rebuilds when it comes back."""

    __tablename__ = "search_index_readers"

    index_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    host: Mapped[str] = mapped_column(String(300), nullable=False)
    position: Mapped[int] = mapped_column(BigInteger, nullable=False)
    cursor: Mapped[str] = mapped_column(Text, nullable=False)
    last_read_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class SearchChannel(str, enum.Enum):
    WEB = "web"
    API = "api"


class SearchLog(db.Model):
    """One search someone ran (its first page). Never a full postcode, never who searched."""

    __tablename__ = "search_logs"
    __table_args__ = (
        CheckConstraint("result_count >= 0", name="result_count_not_negative"),
        CheckConstraint("radius_miles IS NULL OR (radius_miles >= 1 AND radius_miles <= 100)", name="radius_in_range"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    searched_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    words: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    category_slug: Mapped[str | None] = mapped_column(String(60))
    postcode_district: Mapped[str | None] = mapped_column(String(4), index=True)
    radius_miles: Mapped[int | None] = mapped_column(SmallInteger)
    max_price_pence: Mapped[int | None] = mapped_column(Integer)
    min_cqc_rating: Mapped[CQCRating | None] = mapped_column(enum_column(CQCRating, "search_min_cqc_rating"))
    funding: Mapped[FundingRoute | None] = mapped_column(enum_column(FundingRoute, "search_funding_route"))
    supports: Mapped[PeopleGroup | None] = mapped_column(enum_column(PeopleGroup, "search_people_group"))
    days: Mapped[str] = mapped_column(String(60), nullable=False, default="")  # "saturday,sunday"
    framework_only: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    sort: Mapped[str] = mapped_column(String(20), nullable=False, default="best_match")
    result_count: Mapped[int] = mapped_column(Integer, nullable=False)
    channel: Mapped[SearchChannel] = mapped_column(enum_column(SearchChannel, "search_channel"), nullable=False)
