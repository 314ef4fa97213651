"""The reference data a search is checked against and reads: categories (their names and
order) and postcode districts (where each is), both held in memory per process, and the
query-string parser that names an unknown category or district with the other bad fields.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from sqlalchemy import select

from app.extensions import db
from app.models import Category, PostcodeDistrict
from app.services.geo import UNKNOWN_POSTCODE, miles_between
from app.services.search import params as search_params
from app.services.search.held import EDITED_SECONDS, Held, held
from app.services.search.params import CATEGORY_INVALID, SearchParams

DISTRICT_SECONDS = 60  # reference data, loaded by `flask postcodes load`


def _district_rows() -> dict[str, tuple[float, float, str]]:
    d = PostcodeDistrict.__table__
    return {
        r.outward_code: (r.latitude, r.longitude, r.post_town)
        for r in db.session.execute(select(d.c.outward_code, d.c.latitude, d.c.longitude, d.c.post_town))
    }


def districts() -> Held[dict[str, tuple[float, float, str]]]:
    """Postcode district centroids (outward code: latitude, longitude, post town), held in
    memory; ``.get()`` reads them, ``.version`` follows changes."""
    return held("districts", _district_rows, seconds=DISTRICT_SECONDS, tables=frozenset({PostcodeDistrict.__tablename__}))


class DistancesFrom(Mapping[str, float]):
    """Miles from one place to each postcode district, each worked out when first asked for:
    a search needs those of the results it shows, and of every district only when its
    "near" set is not already kept."""

    def __init__(self, latitude: float, longitude: float, rows: Mapping[str, tuple[float, float, str]]):
        self.latitude, self.longitude, self.rows = latitude, longitude, rows
        self.known: dict[str, float] = {}

    def get(self, code, default=None):
        found = self.known.get(code)
        if found is None:
            row = self.rows.get(code)
            if row is None:
                return default
            found = self.known[code] = miles_between(self.latitude, self.longitude, row[0], row[1])
        return found

    def __getitem__(self, code: str) -> float:
        found = self.get(code)
        if found is None:
            raise KeyError(code)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


def known_districts() -> list[str]:
    """The postcode districts a search can be placed in, by outward code."""
    return sorted(districts().get())


def _category_rows() -> tuple[tuple[str, str], ...]:
    c = Category.__table__
    return tuple((r.slug, r.name) for r in db.session.execute(select(c.c.slug, c.c.name).order_by(c.c.position, c.c.name)))


def category_choices() -> tuple[tuple[str, str], ...]:
    """(slug, name) of every category, in taxonomy order (held in memory: see held.py)."""
    return held("categories", _category_rows, seconds=EDITED_SECONDS, tables=frozenset({Category.__tablename__})).get()


def reference_errors(values: Mapping[str, object], *, categories: Sequence[tuple[str, str]] | None = None) -> dict[str, str]:
    """The checks that need reference data: a category and a postcode district we know."""
    found: dict[str, str] = {}
    category = values.get("category")
    if category and category not in {slug for slug, _ in (categories or category_choices())}:
        found["category"] = CATEGORY_INVALID
    postcode = values.get("postcode")
    if postcode and str(postcode).split()[0] not in districts().get():
        found["postcode"] = UNKNOWN_POSTCODE
    return found


def params_from_args(args, *, prices_in_pounds: bool = False, categories: Sequence[tuple[str, str]] | None = None) -> SearchParams:
    """A search from a query string (the page's or the API's), every bad field named in one
    ValidationError: malformed values, a distance sort without a postcode, and unknown
    categories and postcode districts alike. ``categories``: category_choices(), if the
    caller has them already."""

    def check(values):
        return reference_errors(values, categories=categories)

    return search_params.params_from_args(args, prices_in_pounds=prices_in_pounds, check=check)
