"""CQC's words for ratings and its ways of writing dates, read into ours.

A rating cell says one of the four ratings, or that there is none ("Not rated",
"Insufficient evidence to rate", "No rating": a location CQC has not rated, or no longer
rates as a whole); a blank cell says nothing, and changes nothing. Dates come as CQC's
spreadsheets write them (31/01/2026) or as a spreadsheet saved them (2026-01-31, with or
without a time, or 31 January 2026).
"""

from __future__ import annotations

import datetime as dt
import re

from app.models import CQCQuestion, CQCRating


class UnreadableValue(ValueError):
    """A cell the import cannot read: reported with its row, never guessed."""


def _key(text: str) -> str:
    return re.sub(r"[^a-z]+", " ", (text or "").lower()).strip()


RATINGS: dict[str, CQCRating] = {_key(r.label): r for r in CQCRating}
NO_RATING = frozenset(_key(t) for t in ("Not rated", "No rating", "Insufficient evidence to rate", "Not yet rated"))
DOMAINS: dict[str, CQCQuestion] = {_key(q.label): q for q in CQCQuestion} | {"well led": CQCQuestion.WELL_LED}
OVERALL_GROUP = "overall"  # the "Service / Population Group" of a location's own ratings
_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d %B %Y", "%d %b %Y", "%d-%m-%Y")


def is_blank(text: str | None) -> bool:
    return not (text or "").strip()


def rating(text: str) -> CQCRating | None:
    """A rating cell that is not blank: the rating, or None for "no rating"."""
    key = _key(text)
    if key in RATINGS:
        return RATINGS[key]
    if key in NO_RATING:
        return None
    raise UnreadableValue(f'"{text.strip()}" is not a CQC rating')


def domain(text: str) -> CQCQuestion | None:
    """Which rating a "Domain" cell names; None for a domain we do not keep."""
    return DOMAINS.get(_key(text))


def group_is_overall(text: str) -> bool:
    return _key(text) == OVERALL_GROUP


def date(text: str) -> dt.date:
    """A date cell that is not blank."""
    value = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?", value):
        value = value[:10]
    for fmt in _FORMATS:
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise UnreadableValue(f'"{value}" is not a date')


def yes(text: str | None) -> bool:
    """CQC's flag columns: "Y" for yes; blank or "N" for no."""
    return (text or "").strip().upper() == "Y"
