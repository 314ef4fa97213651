"""The reference data a search is checked against and reads: categories (their names and
order) and postcode districts (where each is, held in memory per process), and the
query-string parser that names an unknown category or district with the other bad fields.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import Category, PostcodeDistrict
from app.services.geo import UNKNOWN_POSTCODE
from app.services.search import params as search_params
from app.services.search.params import CATEGORY_INVALID, SearchParams


class Districts:
    """Postcode district centroids, held in memory per process (reference data) and read
    again at most once a minute."""

    def __init__(self):
        self.loaded_at = -math.inf
        self.rows: dict[str, tuple[float, float, str]] = {}
        self.version = 0  # goes up when the rows read differ: cached place bitsets follow it
        self.lock = threading.Lock()

    def get(self) -> dict[str, tuple[float, float, str]]:
        with self.lock:
            if time.monotonic() - self.loaded_at > 60:
                d = PostcodeDistrict.__table__
                rows = {
                    r.outward_code: (r.latitude, r.longitude, r.post_town)
                    for r in db.session.execute(select(d.c.outward_code, d.c.latitude, d.c.longitude, d.c.post_town))
                }
                if rows != self.rows:
                    self.rows = rows
                    self.version += 1
                self.loaded_at = time.monotonic()
            return self.rows


def districts() -> Districts:
    return current_app.extensions.setdefault("search_districts", Districts())


def known_districts() -> list[str]:
    """The postcode districts a search can be placed in, by outward code."""
    return sorted(districts().get())


def category_choices() -> list[tuple[str, str]]:
    """(slug, name) of every category, in taxonomy order."""
    c = Category.__table__
    return [(r.slug, r.name) for r in db.session.execute(select(c.c.slug, c.c.name).order_by(c.c.position, c.c.name))]


def reference_errors(values: Mapping[str, object], *, categories: list[tuple[str, str]] | None = None) -> dict[str, str]:
    """The checks that need reference data: a category and a postcode district we know."""
    found: dict[str, str] = {}
    category = values.get("category")
    if category and category not in {slug for slug, _ in (categories or category_choices())}:
        found["category"] = CATEGORY_INVALID
    postcode = values.get("postcode")
    if postcode and str(postcode).split()[0] not in districts().get():
        found["postcode"] = UNKNOWN_POSTCODE
    return found


def params_from_args(args, *, prices_in_pounds: bool = False, categories: list[tuple[str, str]] | None = None) -> SearchParams:
    """A search from a query string (the page's or the API's), every bad field named in one
    ValidationError: malformed values, a distance sort without a postcode, and unknown
    categories and postcode districts alike. ``categories``: category_choices(), if the
    caller has them already."""

    def check(values):
        return reference_errors(values, categories=categories)

    return search_params.params_from_args(args, prices_in_pounds=prices_in_pounds, check=check)
