"""Shared column types and mixins for the models."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TypeVar

from sqlalchemy import Enum as SAEnum
from sqlalchemy.orm import Mapped, mapped_column

from app.database import UTCDateTime, utcnow

E = TypeVar("E", bound=enum.Enum)


def enum_column(enum_cls: type[E], name: str) -> SAEnum:
    """A portable enum column: stored as its string value, with a CHECK constraint."""
    return SAEnum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_cls),
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)
