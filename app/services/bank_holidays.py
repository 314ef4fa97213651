"""Bank holidays in England and Wales, worked out from the rules (with the one-off
changes made since 2020), so providers can close on them in one step."""

from __future__ import annotations

import datetime as dt

# One-off changes by royal proclamation: (year, usual date) -> new date or None (cancelled),
# and extra days.
MOVED = {
    dt.date(2020, 5, 4): dt.date(2020, 5, 8),  # early May moved for VE Day
    dt.date(2022, 5, 30): dt.date(2022, 6, 2),  # spring moved for the Platinum Jubilee
}
EXTRA = {
    dt.date(2022, 6, 3): "Platinum Jubilee bank holiday",
    dt.date(2022, 9, 19): "State Funeral of Queen Elizabeth II",
    dt.date(2023, 5, 8): "Bank holiday for the coronation of King Charles III",
}


def easter_sunday(year: int) -> dt.date:
    """Anonymous Gregorian algorithm (Meeus/Jones/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l = (32 + 2 * e + 2 * i - h - k) % 7  # noqa: E741
    m = (a + 11 * h + 22 * l) // 451
    month, day = divmod(h + l - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


def _first_monday(year: int, month: int) -> dt.date:
    day = dt.date(year, month, 1)
    return day + dt.timedelta(days=(7 - day.weekday()) % 7)


def _last_monday(year: int, month: int) -> dt.date:
    next_month = dt.date(year + (month == 12), month % 12 + 1, 1)
    last = next_month - dt.timedelta(days=1)
    return last - dt.timedelta(days=last.weekday())


def _weekday_or_next_monday(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=(7 - day.weekday()) % 7) if day.weekday() >= 5 else day


def england_and_wales(year: int) -> list[tuple[dt.date, str]]:
    easter = easter_sunday(year)
    days = [
        (_weekday_or_next_monday(dt.date(year, 1, 1)), "New Year's Day"),
        (easter - dt.timedelta(days=2), "Good Friday"),
        (easter + dt.timedelta(days=1), "Easter Monday"),
        (_first_monday(year, 5), "Early May bank holiday"),
        (_last_monday(year, 5), "Spring bank holiday"),
        (_last_monday(year, 8), "Summer bank holiday"),
    ]
    christmas, boxing = dt.date(year, 12, 25), dt.date(year, 12, 26)
    if christmas.weekday() == 5:  # Saturday: Monday and Tuesday
        christmas, boxing = dt.date(year, 12, 27), dt.date(year, 12, 28)
    elif christmas.weekday() == 6:  # Sunday: Boxing Day Monday, Christmas Tuesday
        christmas, boxing = dt.date(year, 12, 27), dt.date(year, 12, 26)
    elif boxing.weekday() == 5:  # Friday Christmas: Boxing Day moves to Monday
        boxing = dt.date(year, 12, 28)
    days += [(christmas, "Christmas Day"), (boxing, "Boxing Day")]
    days = [(MOVED.get(day, day), name) for day, name in days]
    days += [(day, name) for day, name in EXTRA.items() if day.year == year]
    return sorted(days)
