"""A small, explicit pagination helper for SQLAlchemy selects."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Select, func, select

from app.extensions import db

T = TypeVar("T")

MAX_PAGE = 10_000


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def beyond_last(self) -> bool:
        """A page past the last one (page 3 of 2; page 2 of nothing): a page that does not
        exist. Pages answer 404 for it; the API answers it empty, with the total."""
        return self.page > self.pages

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first_index(self) -> int:
        return 0 if self.total == 0 else (self.page - 1) * self.per_page + 1

    @property
    def last_index(self) -> int:
        return min(self.total, self.page * self.per_page)


def clamp_page(page: int | None) -> int:
    if page is None or page < 1:
        return 1
    return min(page, MAX_PAGE)


def paginate(query: Select, page: int, per_page: int) -> Page:
    page = clamp_page(page)
    total = db.session.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    items = db.session.execute(query.limit(per_page).offset((page - 1) * per_page)).unique().scalars().all()
    return Page(items=items, total=total, page=page, per_page=per_page)
