"""Formatting for people: money, dates, times, distances, and reading an amount typed in pounds.

Plain functions below the services and the presenters: a service writing a message and a
template showing a figure format it the same way. Money arrives as integer pence."""

from __future__ import annotations

import datetime as dt
import re

from app.uk_time import UK


def format_pence(pence: int | None, *, always_pence: bool = False) -> str:
    """1234 -> '£12.34'; 2000 -> '£20' (GOV.UK style drops .00); -550 -> '-£5.50'."""
    if pence is None:
        return ""
    if isinstance(pence, bool) or not isinstance(pence, int):
        raise TypeError("money is formatted from integer pence only")
    sign = "-" if pence < 0 else ""
    pounds, rest = divmod(abs(pence), 100)
    if rest == 0 and not always_pence:
        return f"{sign}£{pounds:,}"
    return f"{sign}£{pounds:,}.{rest:02d}"


def format_date(value: dt.date | dt.datetime | None) -> str:
    """GOV.UK style: '4 June 2026'."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.astimezone(UK).date() if value.tzinfo else value.date()
    return f"{value.day} {value:%B %Y}"


def format_time(value: dt.time | dt.datetime | None) -> str:
    """GOV.UK style: '9am', '5:30pm', 'midnight', 'midday'."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.astimezone(UK).time() if value.tzinfo else value.time()
    if value.hour == 0 and value.minute == 0:
        return "midnight"
    if value.hour == 12 and value.minute == 0:
        return "midday"
    hour = value.hour % 12 or 12
    suffix = "am" if value.hour < 12 else "pm"
    if value.minute:
        return f"{hour}:{value.minute:02d}{suffix}"
    return f"{hour}{suffix}"


def format_datetime(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    return f"{format_date(value)} at {format_time(value)}"


def format_distance(miles: float | None) -> str:
    if miles is None:
        return ""
    if miles < 0.1:
        return "less than 0.1 miles"
    if round(miles, 1) == 1.0:
        return "1 mile"
    return f"{miles:.1f} miles"


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def pluralise(count: int, singular: str, plural: str | None = None) -> str:
    word = singular if count == 1 else (plural or singular + "s")
    return f"{count:,} {word}"


def parse_pounds(text: str | None) -> int:
    """'£1,234.50' -> 123450 pence. Raises ValueError with a message for people."""
    cleaned = (text or "").strip().replace(",", "").replace(" ", "")
    if cleaned.startswith("£"):
        cleaned = cleaned[1:]
    match = re.fullmatch(r"(\d{1,9})(?:\.(\d{1,2}))?", cleaned)
    if not match:
        raise ValueError("Enter an amount in pounds, like 420 or 420.50")
    pounds, pence = match.group(1), (match.group(2) or "0").ljust(2, "0")
    return int(pounds) * 100 + int(pence)
