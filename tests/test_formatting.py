from __future__ import annotations

import datetime as dt

import pytest

from app.formatting import format_date, format_distance, format_pence, format_time, ordinal, pluralise


@pytest.mark.parametrize(
    "pence, text", [(0, "£0"), (5, "£0.05"), (2350, "£23.50"), (2000, "£20"), (123456789, "£1,234,567.89"), (-550, "-£5.50")]
)
def test_money_is_formatted_from_pence(pence, text):
    assert format_pence(pence) == text


def test_money_must_be_integer_pence():
    with pytest.raises(TypeError):
        format_pence(23.5)
    with pytest.raises(TypeError):
        format_pence(True)


def test_dates_and_times_in_govuk_style():
    assert format_date(dt.date(2026, 6, 4)) == "4 June 2026"
    # 23:30 UTC on 31 May is 00:30 on 1 June in British Summer Time.
    assert format_date(dt.datetime(2026, 5, 31, 23, 30, tzinfo=dt.UTC)) == "1 June 2026"
    assert format_time(dt.time(9, 0)) == "9am"
    assert format_time(dt.time(17, 30)) == "5:30pm"
    assert format_time(dt.time(0, 0)) == "midnight"
    assert format_time(dt.time(12, 0)) == "midday"


def test_small_words():
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == [
        "1st",
        "2nd",
        "3rd",
        "4th",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
        "101st",
        "111th",
    ]
    assert pluralise(1, "service") == "1 service"
    assert pluralise(2, "service") == "2 services"
    assert pluralise(1200, "service") == "1,200 services"
    assert format_distance(0.04) == "less than 0.1 miles"
    assert format_distance(1.0) == "1 mile"
    assert format_distance(3.26) == "3.3 miles"


def test_weekly_hours_are_grouped_into_plain_words():
    from types import SimpleNamespace as Slot

    from app.presenters.hours import hours_lines

    def slots(days, o, c):
        return [Slot(weekday=d, opens_at=dt.time.fromisoformat(o), closes_at=dt.time.fromisoformat(c)) for d in days]

    assert hours_lines(slots(range(7), "07:00", "22:00")) == ["Every day: 7am to 10pm"]
    assert hours_lines(slots(range(5), "09:30", "15:30") + slots([5], "10:00", "14:00")) == [
        "Monday to Friday: 9:30am to 3:30pm",
        "Saturday: 10am to 2pm",
    ]
    assert hours_lines(slots([5, 6], "20:00", "08:00")) == ["Saturday and Sunday: 8pm to 8am (overnight)"]
    assert hours_lines(slots([0, 2], "09:00", "17:00")) == ["Monday: 9am to 5pm", "Wednesday: 9am to 5pm"]
