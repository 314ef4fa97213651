"""The council's own words for needs: a word or phrase people search for, added by a
commissioner (usually from the words that found nothing in the unmet demand report), that
leads to a need of the vocabulary (services/search/needs.toml) or straight to a type of
support. Taken out again, a word stays on record with who took it out and when."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import UTCDateTime, utcnow
from app.extensions import db

MAX_PHRASE = 80


class CouncilNeedWord(db.Model):
    __tablename__ = "council_need_words"
    __table_args__ = (
        CheckConstraint(f"length(trim(phrase)) BETWEEN 1 AND {MAX_PHRASE}", name="phrase_length"),
        CheckConstraint("length(words) > 0", name="has_words"),
        CheckConstraint("(removed_at IS NULL) = (removed_by_id IS NULL)", name="removed_with_by"),
        # One live entry for each phrase, as search reads it (its stems).
        Index(
            "uq_council_need_words_live",
            "words",
            unique=True,
            sqlite_where=text("removed_at IS NULL"),
            postgresql_where=text("removed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    phrase: Mapped[str] = mapped_column(String(MAX_PHRASE), nullable=False)  # as the commissioner typed it
    words: Mapped[str] = mapped_column(String(200), nullable=False)  # its stems, space-separated: how search finds it
    # A need of the vocabulary ("washing"), or "category:<slug>" for a type of support.
    meaning: Mapped[str] = mapped_column(String(120), nullable=False)
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    added_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    added_by = relationship("User", foreign_keys=[added_by_id])
    removed_by = relationship("User", foreign_keys=[removed_by_id])
