"""What a request to the feed asks for, and how its query string becomes that.

Each ``parse_*`` function turns one raw value into a typed one or raises ``ValueError``
with a message naming the parameter. ``paging``, ``service_filters`` and ``term_filter``
apply them and raise ``ValidationError`` naming every bad parameter at once, so a 400
answers all of them together. As on the search API, an empty value is the same as
leaving the parameter out, and unknown parameters are ignored.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from app.models import WEEKDAYS, PostcodeDistrict
from app.services import geo
from app.services.errors import ValidationError
from app.services.openreferral import ids, taxonomy
from app.services.openreferral.schedules import BYDAY
from app.services.search import params as search_params

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 100
MAX_PAGE = 10_000
MAX_PROXIMITY_METRES = 200_000

PAGE_INVALID = f"page must be a whole number between 1 and {MAX_PAGE:,}"
PER_PAGE_INVALID = f"per_page must be a whole number between 1 and {MAX_PER_PAGE}"
SEARCH_TOO_LONG = f"search must be {search_params.MAX_QUERY_LENGTH} characters or fewer"
SEARCH_BAD_CHARACTER = "search contains a hidden character that cannot be searched for"
TERM_INVALID = "taxonomy_term_id must be the id of a term listed at /openreferral/taxonomy_terms"
TAXONOMY_INVALID = "taxonomy_id must be the id of a taxonomy listed at /openreferral/taxonomies"
DAY_INVALID = "day must be days of the week: MO, TU, WE, TH, FR, SA or SU (or monday to sunday), separated by commas"
MODIFIED_AFTER_INVALID = "modified_after must be a date and time in ISO 8601 form, like 2026-06-01T09:00:00Z or 2026-06-01"
PROXIMITY_INVALID = f"proximity must be a whole number of metres between 1 and {MAX_PROXIMITY_METRES:,}"
PROXIMITY_NEEDS_POSTCODE = "proximity needs a postcode to measure from"

_INT_RE = re.compile(r"^\s*\+?\d{1,9}\s*$")
# "+01:00" arrives as " 01:00" when a client does not encode the plus sign.
_UNENCODED_OFFSET_RE = re.compile(r"(T[0-9:.]+) (\d{2}(:?\d{2})?)$")


@dataclass(frozen=True)
class Paging:
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE


@dataclass(frozen=True)
class ServiceFilters:
    """Which listed services a list asks for. ``district`` is the known postcode district of
    ``postcode``; ``proximity`` is in metres."""

    search: str = ""
    term: taxonomy.Term | None = None
    days: tuple[int, ...] = ()
    modified_after: dt.datetime | None = None
    postcode: str | None = None
    district: PostcodeDistrict | None = None
    proximity: int | None = None


def _whole_number(value: str | None, lowest: int, highest: int, message: str, default: int | None) -> int | None:
    text = (value or "").strip()
    if not text:
        return default
    if not _INT_RE.match(text) or not lowest <= int(text) <= highest:
        raise ValueError(message)
    return int(text)


def parse_page(value: str | None) -> int:
    return _whole_number(value, 1, MAX_PAGE, PAGE_INVALID, 1)


def parse_per_page(value: str | None) -> int:
    return _whole_number(value, 1, MAX_PER_PAGE, PER_PAGE_INVALID, DEFAULT_PER_PAGE)


def parse_search(value: str | None) -> str:
    """The words to search for, read as the search page reads them (by its own rules)."""
    try:
        return search_params.parse_query(value)
    except ValueError as exc:
        too_long = str(exc) == search_params.QUERY_TOO_LONG
        raise ValueError(SEARCH_TOO_LONG if too_long else SEARCH_BAD_CHARACTER) from None


def parse_term(value: str | None) -> taxonomy.Term | None:
    if not (value or "").strip():
        return None
    term_id = ids.parse(value)
    term = taxonomy.term_by_id(term_id) if term_id else None
    if term is None:
        raise ValueError(TERM_INVALID)
    return term


def parse_taxonomy(value: str | None) -> str | None:
    """The key (``types-of-support``...) of the taxonomy with this id."""
    if not (value or "").strip():
        return None
    wanted = ids.parse(value)
    for key in (taxonomy.TYPES_OF_SUPPORT, taxonomy.CQC_RATING):
        if wanted == ids.taxonomy(key):
            return key
    raise ValueError(TAXONOMY_INVALID)


def parse_days(value: str | None) -> tuple[int, ...]:
    """'MO,WE' or 'monday' -> (0, 2): services must run on each of them."""
    names = {code: n for n, code in enumerate(BYDAY)} | {d.lower(): n for n, d in enumerate(WEEKDAYS)}
    days = set()
    for part in (value or "").split(","):
        text = part.strip()
        if not text:
            continue
        day = names.get(text.upper(), names.get(text.lower()))
        if day is None:
            raise ValueError(DAY_INVALID)
        days.add(day)
    return tuple(sorted(days))


def parse_modified_after(value: str | None) -> dt.datetime | None:
    """An ISO 8601 date or date and time, in UTC (a time without an offset is taken as UTC)."""
    text = (value or "").strip()
    if not text:
        return None
    text = _UNENCODED_OFFSET_RE.sub(r"\1+\2", text)
    try:
        moment = dt.datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        moment = moment.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise ValueError(MODIFIED_AFTER_INVALID) from None
    if not 1900 <= moment.year <= 9998:
        raise ValueError(MODIFIED_AFTER_INVALID)
    return moment


def parse_postcode(value: str | None) -> tuple[str, PostcodeDistrict] | None:
    """A full postcode (only its district is used) and its known district."""
    if not (value or "").strip():
        return None
    try:
        postcode, district = geo.locate(value)
    except ValidationError as exc:
        raise ValueError(exc.errors["postcode"]) from None
    return str(postcode), district


def parse_proximity(value: str | None) -> int | None:
    return _whole_number(value, 1, MAX_PROXIMITY_METRES, PROXIMITY_INVALID, None)


def _parse_each(args: Mapping[str, str], parsers: Mapping[str, Callable]) -> tuple[dict, dict[str, str]]:
    values, errors = {}, {}
    for name, parser in parsers.items():
        try:
            values[name] = parser(args.get(name))
        except ValueError as exc:
            errors[name] = str(exc)
    return values, errors


def paging(args: Mapping[str, str]) -> Paging:
    values, errors = _parse_each(args, {"page": parse_page, "per_page": parse_per_page})
    if errors:
        raise ValidationError(errors)
    return Paging(**values)


def service_filters(args: Mapping[str, str], *, places: bool = False) -> tuple[ServiceFilters, Paging]:
    """The filters and page of a list of services (``places``: also postcode and proximity,
    as /service_at_locations takes). Raises ValidationError naming every bad parameter."""
    parsers = {
        "page": parse_page,
        "per_page": parse_per_page,
        "search": parse_search,
        "taxonomy_term_id": parse_term,
        "day": parse_days,
        "modified_after": parse_modified_after,
    }
    if places:
        parsers |= {"postcode": parse_postcode, "proximity": parse_proximity}
    values, errors = _parse_each(args, parsers)
    if places and values.get("proximity") is not None and not (args.get("postcode") or "").strip():
        errors["proximity"] = PROXIMITY_NEEDS_POSTCODE
    if errors:
        raise ValidationError(errors)
    postcode, district = values.get("postcode") or (None, None)
    filters = ServiceFilters(
        search=values["search"],
        term=values["taxonomy_term_id"],
        days=values["day"],
        modified_after=values["modified_after"],
        postcode=postcode,
        district=district,
        proximity=values.get("proximity"),
    )
    return filters, Paging(values["page"], values["per_page"])


def term_filter(args: Mapping[str, str]) -> tuple[str | None, Paging]:
    """The taxonomy (by key) and page a list of taxonomy terms asks for."""
    values, errors = _parse_each(args, {"page": parse_page, "per_page": parse_per_page, "taxonomy_id": parse_taxonomy})
    if errors:
        raise ValidationError(errors)
    return values["taxonomy_id"], Paging(values["page"], values["per_page"])


PARAMETERS = ("page", "per_page", "search", "taxonomy_term_id", "taxonomy_id", "day", "modified_after", "postcode", "proximity")
