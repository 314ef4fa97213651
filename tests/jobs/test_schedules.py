"""Schedules are read in UK time, in summer and winter alike, and the next run is the
first minute the crontab matches."""

from __future__ import annotations

import datetime as dt

from app.services.jobs.schedules import daily, every_minute, every_n_minutes, hourly, weekdays

UTC = dt.UTC


def test_a_daily_job_runs_at_its_uk_time_in_winter_and_in_summer():
    five = daily(5)
    assert five.next_after(dt.datetime(2026, 12, 7, 12, 0, tzinfo=UTC)) == dt.datetime(2026, 12, 8, 5, 0, tzinfo=UTC)
    assert five.next_after(dt.datetime(2026, 7, 7, 12, 0, tzinfo=UTC)) == dt.datetime(2026, 7, 8, 4, 0, tzinfo=UTC)  # 05:00 BST
    assert five.matches_naive_utc(dt.datetime(2026, 7, 8, 4, 0)) and not five.matches_naive_utc(dt.datetime(2026, 7, 8, 5, 0))


def test_the_clocks_changing_neither_skips_nor_doubles_a_morning_job():
    five = daily(5)
    # The clocks go back at 02:00 BST on 25 October 2026 and forward at 01:00 GMT on 28 March 2027.
    assert five.next_after(dt.datetime(2026, 10, 24, 12, 0, tzinfo=UTC)) == dt.datetime(2026, 10, 25, 5, 0, tzinfo=UTC)
    assert five.next_after(dt.datetime(2027, 3, 27, 12, 0, tzinfo=UTC)) == dt.datetime(2027, 3, 28, 4, 0, tzinfo=UTC)


def test_minutes_hours_and_weekdays():
    noon = dt.datetime(2026, 12, 7, 12, 0, 30, tzinfo=UTC)  # a Monday
    assert every_minute().next_after(noon) == dt.datetime(2026, 12, 7, 12, 1, tzinfo=UTC)
    assert every_n_minutes(10).next_after(noon) == dt.datetime(2026, 12, 7, 12, 10, tzinfo=UTC)
    assert hourly(5).next_after(noon) == dt.datetime(2026, 12, 7, 12, 5, tzinfo=UTC)
    friday_evening = dt.datetime(2026, 12, 11, 18, 0, tzinfo=UTC)
    assert weekdays(8).next_after(friday_evening) == dt.datetime(2026, 12, 14, 8, 0, tzinfo=UTC)  # Monday
    assert weekdays(8).words == "Monday to Friday at 08:00" and hourly(5).words == "Every hour at 5 minutes past"
