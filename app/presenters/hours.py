"""Weekly hours in plain words: 'Monday to Friday: 9:30am to 3:30pm'."""

from __future__ import annotations

from app.formatting import format_time
from app.models import WEEKDAYS


def _span(days: list[int]) -> str:
    if len(days) == 7:
        return "Every day"
    if len(days) == 1:
        return WEEKDAYS[days[0]]
    if len(days) == 2:
        return f"{WEEKDAYS[days[0]]} and {WEEKDAYS[days[1]]}"
    return f"{WEEKDAYS[days[0]]} to {WEEKDAYS[days[-1]]}"


def hours_lines(hours) -> list[str]:
    """Group consecutive days that share the same opening times."""
    by_day = sorted(hours, key=lambda h: (h.weekday, h.opens_at))
    lines: list[str] = []
    run: list[int] = []
    run_key = None
    for slot in by_day:
        key = (slot.opens_at, slot.closes_at)
        if run and key == run_key and slot.weekday == run[-1] + 1:
            run.append(slot.weekday)
            continue
        if run:
            lines.append(_line(run, run_key))
        run, run_key = [slot.weekday], key
    if run:
        lines.append(_line(run, run_key))
    return lines


def _line(days: list[int], key) -> str:
    opens, closes = key
    overnight = " (overnight)" if closes < opens else ""
    return f"{_span(days)}: {format_time(opens)} to {format_time(closes)}{overnight}"
