"""What a search asks for, and how typed-in values become it.

The search page and the JSON API take the same parameters and give the same messages, so
the rules live here once: each ``parse_*`` function turns one raw value into a typed one
or raises ``ValueError`` with a message a person can act on. ``params_from_args`` applies
them all and raises ``ValidationError`` naming each bad field.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation

from app.models import MAX_PRICE_PENCE, WEEKDAYS, CQCRating, FundingRoute, PeopleGroup
from app.services.errors import ValidationError
from app.services.geo import parse_postcode

PER_PAGE = 20
MAX_PAGE = 10_000
MAX_QUERY_LENGTH = 200
DEFAULT_RADIUS_MILES = 10
MIN_RADIUS_MILES = 1
MAX_RADIUS_MILES = 100
RADIUS_CHOICES = (1, 2, 3, 5, 10, 15, 20, 30, 50)
DAY_VALUES = tuple(day.lower() for day in WEEKDAYS)

QUERY_TOO_LONG = f"Search words must be {MAX_QUERY_LENGTH} characters or fewer"
QUERY_BAD_CHARACTER = "Search words contain a hidden character we cannot search for: type them again"
RADIUS_INVALID = f"Distance must be a whole number of miles between {MIN_RADIUS_MILES} and {MAX_RADIUS_MILES}"
PRICE_POUNDS_INVALID = "Enter a maximum price in pounds, like 25 or 22.50"
PRICE_RANGE = f"Maximum price must be between 1p and £{MAX_PRICE_PENCE // 100:,}"
PRICE_PENCE_INVALID = f"max_price_pence must be a whole number of pence between 1 and {MAX_PRICE_PENCE}"
RATING_INVALID = "Choose a CQC rating from the list"
REVIEW_RATING_INVALID = "Choose a review score from the list"
REVIEW_RATING_CHOICES = (4, 3, 2, 1)  # "4 stars or more" ... "1 star or more" (has a review)
# Sorting by reviews: each service's own are weighed with this many reviews' worth of the
# average of every listed service's reviews (a Bayesian average).
REVIEW_SORT_WEIGHT = 5
FUNDING_INVALID = "Choose how you will pay from the list"
SUPPORTS_INVALID = "Choose who the service supports from the list"
DAY_INVALID = "Choose days of the week from the list"
SORT_INVALID = "Choose how to sort the results from the list"
DISTANCE_SORT_NEEDS_POSTCODE = "Enter a postcode to sort by distance"
CATEGORY_INVALID = "Choose a type of support from the list"
PAGE_INVALID = f"Page must be a whole number between 1 and {MAX_PAGE:,}"
FLAG_INVALID = "framework_only must be true or false"

_TRUE = {"1", "true", "yes", "y", "on"}
_FALSE = {"0", "false", "no", "n", "off", ""}
_SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_INT_RE = re.compile(r"^\s*\+?\d{1,9}\s*$")


class Sort(str, enum.Enum):
    BEST_MATCH = "best_match"
    PRICE = "price"
    DISTANCE = "distance"
    RATING = "rating"
    REVIEWS = "reviews"

    @property
    def label(self) -> str:
        return {
            Sort.BEST_MATCH: "Best match",
            Sort.PRICE: "Price (lowest first)",
            Sort.DISTANCE: "Distance (nearest first)",
            Sort.RATING: "CQC rating (highest first)",
            Sort.REVIEWS: "Reviews by people who used it (highest first)",
        }[self]


@dataclass(frozen=True)
class SearchParams:
    """A validated search. ``postcode`` is normalised ('PE1 1XX'); only its district is
    ever logged."""

    q: str = ""
    category: str | None = None
    postcode: str | None = None
    radius_miles: int = DEFAULT_RADIUS_MILES
    max_price_pence: int | None = None
    min_cqc_rating: CQCRating | None = None
    min_review_rating: int | None = None  # average of its published reviews, 1 to 4 stars or more
    funding: FundingRoute | None = None
    supports: PeopleGroup | None = None  # a group of people the service says it supports
    days: tuple[int, ...] = field(default_factory=tuple)  # 0 = Monday
    framework_only: bool = False
    sort: Sort = Sort.BEST_MATCH
    page: int = 1

    @property
    def is_blank(self) -> bool:
        """No words and no filters: someone arriving at the search page, not searching."""
        return not (
            self.q
            or self.category
            or self.postcode
            or self.max_price_pence is not None
            or self.min_cqc_rating
            or self.min_review_rating
            or self.funding
            or self.supports
            or self.days
            or self.framework_only
        )

    def with_page(self, page: int) -> SearchParams:
        return replace(self, page=page)

    def as_args(self) -> dict[str, str | list[str]]:
        """The query-string form (the API's names), leaving defaults out."""
        args: dict[str, str | list[str]] = {}
        if self.q:
            args["q"] = self.q
        if self.category:
            args["category"] = self.category
        if self.postcode:
            args["postcode"] = self.postcode
            args["radius_miles"] = str(self.radius_miles)
        if self.max_price_pence is not None:
            args["max_price_pence"] = str(self.max_price_pence)
        if self.min_cqc_rating:
            args["min_cqc_rating"] = self.min_cqc_rating.value
        if self.min_review_rating:
            args["min_review_rating"] = str(self.min_review_rating)
        if self.funding:
            args["funding"] = self.funding.value
        if self.supports:
            args["supports"] = self.supports.value
        if self.days:
            args["day"] = [DAY_VALUES[d] for d in self.days]
        if self.framework_only:
            args["framework_only"] = "true"
        if self.sort is not Sort.BEST_MATCH:
            args["sort"] = self.sort.value
        if self.page != 1:
            args["page"] = str(self.page)
        return args


# One parser per field ----------------------------------------------------------------------


def parse_query(value: str | None) -> str:
    text = " ".join((value or "").split())
    if "\x00" in text:
        raise ValueError(QUERY_BAD_CHARACTER)
    if len(text) > MAX_QUERY_LENGTH:
        raise ValueError(QUERY_TOO_LONG)
    return text


def parse_postcode_text(value: str | None) -> str | None:
    if not (value or "").strip():
        return None
    try:
        return str(parse_postcode(value))
    except ValidationError as exc:
        raise ValueError(exc.errors["postcode"]) from None


def parse_radius(value: str | int | None) -> int:
    if value is None or str(value).strip() == "":
        return DEFAULT_RADIUS_MILES
    text = str(value)
    if not _INT_RE.match(text) or not MIN_RADIUS_MILES <= int(text) <= MAX_RADIUS_MILES:
        raise ValueError(RADIUS_INVALID)
    return int(text)


def parse_price_pounds(value: str | None) -> int | None:
    """'25', '£22.50', '1,200' -> pence."""
    text = (value or "").strip().replace(",", "")
    if text.startswith("£"):
        text = text[1:].strip()
    if not text:
        return None
    if not re.fullmatch(r"\d{1,7}(\.\d{1,2})?", text):
        raise ValueError(PRICE_POUNDS_INVALID)
    try:
        pence = int(Decimal(text) * 100)
    except InvalidOperation:  # pragma: no cover - the pattern above rules it out
        raise ValueError(PRICE_POUNDS_INVALID) from None
    if not 1 <= pence <= MAX_PRICE_PENCE:
        raise ValueError(PRICE_RANGE)
    return pence


def parse_price_pence(value: str | None) -> int | None:
    text = (value or "").strip()
    if not text:
        return None
    if not _INT_RE.match(text) or not 1 <= int(text) <= MAX_PRICE_PENCE:
        raise ValueError(PRICE_PENCE_INVALID)
    return int(text)


def parse_rating(value: str | None) -> CQCRating | None:
    text = (value or "").strip().lower()
    if not text or text == "any":
        return None
    try:
        return CQCRating(text)
    except ValueError:
        raise ValueError(RATING_INVALID) from None


def parse_review_rating(value: str | None) -> int | None:
    text = (value or "").strip().lower()
    if not text or text == "any":
        return None
    if not _INT_RE.match(text) or int(text) not in REVIEW_RATING_CHOICES:
        raise ValueError(REVIEW_RATING_INVALID)
    return int(text)


def parse_funding(value: str | None) -> FundingRoute | None:
    text = (value or "").strip().lower()
    if not text or text == "any":
        return None
    try:
        return FundingRoute(text)
    except ValueError:
        raise ValueError(FUNDING_INVALID) from None


def parse_supports(value: str | None) -> PeopleGroup | None:
    text = (value or "").strip().lower()
    if not text or text == "any":
        return None
    try:
        return PeopleGroup(text)
    except ValueError:
        raise ValueError(SUPPORTS_INVALID) from None


def parse_days(values: Sequence[str]) -> tuple[int, ...]:
    days: set[int] = set()
    for value in values:
        for part in str(value).split(","):
            text = part.strip().lower()
            if not text:
                continue
            if text in DAY_VALUES:
                days.add(DAY_VALUES.index(text))
            elif text[:3] in {d[:3] for d in DAY_VALUES} and len(text) == 3:
                days.add([d[:3] for d in DAY_VALUES].index(text))
            else:
                raise ValueError(DAY_INVALID)
    return tuple(sorted(days))


def parse_flag(value: str | None) -> bool:
    text = (value or "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(FLAG_INVALID)


def parse_sort(value: str | None) -> Sort:
    text = (value or "").strip().lower()
    if not text:
        return Sort.BEST_MATCH
    try:
        return Sort(text)
    except ValueError:
        raise ValueError(SORT_INVALID) from None


def parse_category(value: str | None) -> str | None:
    text = (value or "").strip().lower()
    if not text or text == "any":
        return None
    if len(text) > 60 or not _SLUG_RE.match(text):
        raise ValueError(CATEGORY_INVALID)
    return text


def parse_page(value: str | None) -> int:
    text = (value or "").strip()
    if not text:
        return 1
    if not _INT_RE.match(text) or not 1 <= int(text) <= MAX_PAGE:
        raise ValueError(PAGE_INVALID)
    return int(text)


# All of them -------------------------------------------------------------------------------

# The parameters the API takes, with the parser of each. The page takes the same names,
# and also ``max_price``: a maximum price typed in pounds, which wins over
# ``max_price_pence`` when both are given.
SINGLE_PARSERS = {
    "q": parse_query,
    "category": parse_category,
    "postcode": parse_postcode_text,
    "radius_miles": parse_radius,
    "max_price_pence": parse_price_pence,
    "min_cqc_rating": parse_rating,
    "min_review_rating": parse_review_rating,
    "funding": parse_funding,
    "supports": parse_supports,
    "framework_only": parse_flag,
    "sort": parse_sort,
    "page": parse_page,
}
API_PARAMETERS = (*SINGLE_PARSERS, "day")
PAGE_PRICE_PARAMETER = "max_price"

# A check that needs reference data (known categories, known postcode districts): given
# the values that parsed (a field with an error of its own has none), the errors it finds.
Check = Callable[[Mapping[str, object]], Mapping[str, str]]


def parse_args(args: Mapping[str, str] | MultiDict, *, prices_in_pounds: bool = False) -> tuple[dict[str, object], dict[str, str]]:  # noqa: F821
    """Every parameter parsed in one pass: (values of the good ones, message of each bad
    one). Unknown parameters are ignored."""
    getlist = getattr(args, "getlist", None)
    values: dict[str, object] = {}
    errors: dict[str, str] = {}
    for name, parser in SINGLE_PARSERS.items():
        raw = args.get(name)
        try:
            values[name] = parser(raw)
        except ValueError as exc:
            errors[name] = str(exc)
    if prices_in_pounds and (args.get(PAGE_PRICE_PARAMETER) or "").strip():
        errors.pop("max_price_pence", None)
        try:
            values["max_price_pence"] = parse_price_pounds(args.get(PAGE_PRICE_PARAMETER))
        except ValueError as exc:
            errors[PAGE_PRICE_PARAMETER] = str(exc)
    raw_days = getlist("day") if getlist else ([args["day"]] if args.get("day") else [])
    try:
        values["days"] = parse_days(raw_days)
    except ValueError as exc:
        errors["day"] = str(exc)
    # Distance needs a postcode: one that was typed, even if it is wrong (that is the
    # postcode's own error, and correcting it is enough).
    if values.get("sort") is Sort.DISTANCE and not (args.get("postcode") or "").strip():
        errors["sort"] = DISTANCE_SORT_NEEDS_POSTCODE
    return values, errors


def params_from_args(args: Mapping[str, str] | MultiDict, *, prices_in_pounds: bool = False, check: Check | None = None) -> SearchParams:  # noqa: F821
    """Parse a query string. Raises ValidationError naming every bad field at once: its
    own checks, then ``check``'s (which only sees the fields that passed)."""
    values, errors = parse_args(args, prices_in_pounds=prices_in_pounds)
    if check is not None:
        errors.update(check(values))
    if errors:
        raise ValidationError(errors)
    return SearchParams(**values)  # type: ignore[arg-type]
