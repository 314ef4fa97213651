"""The council's paying rules as arithmetic: tolerance, billing increment, rounding, basis.
Pure functions: no database."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.models import PayBasis, PriceUnit, Rounding
from app.services.council import DeliveryRules
from app.services.delivery.rules import Plan, assess, pence_for_minutes, round_minutes

START = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)


def _plan(hours=1, price=2_400, unit=PriceUnit.HOUR) -> Plan:
    return Plan(START, START + dt.timedelta(hours=hours), hours, unit, price)


def _at(minutes: int) -> dt.datetime:
    return START + dt.timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("minutes", "increment", "rounding", "expected"),
    [
        (52, 15, Rounding.UP, 60),
        (52, 15, Rounding.NEAREST, 45),
        (53, 15, Rounding.NEAREST, 60),  # 7.5 rounds up: halves go up
        (52, 15, Rounding.DOWN, 45),
        (52, 5, Rounding.NEAREST, 50),
        (52, 1, Rounding.UP, 52),
        (60, 15, Rounding.UP, 60),
    ],
)
def test_minutes_round_to_the_billing_increment(minutes, increment, rounding, expected):
    assert round_minutes(minutes, increment, rounding) == expected


def test_pence_for_minutes_is_exact_and_rounds_half_pennies_up():
    assert pence_for_minutes(2_400, 60) == 2_400
    assert pence_for_minutes(2_400, 45) == 1_800
    assert pence_for_minutes(2_001, 30) == 1_001  # 1,000.5 -> 1,001
    assert pence_for_minutes(1_999, 1) == 33  # 33.3 -> 33


def test_inside_the_tolerance_is_paid_as_planned_whatever_the_basis():
    rules = DeliveryRules(pay_basis=PayBasis.ACTUAL, billing_increment_minutes=15, rounding=Rounding.DOWN, tolerance_minutes=10)
    result = assess(_plan(), _at(8), _at(58), rules)  # 8 minutes late, 50 minutes long
    assert result.within_tolerance and result.pence == 2_400 and "paid as planned" in result.note


def test_a_late_start_outside_the_tolerance_is_an_exception_saying_why():
    rules = DeliveryRules(tolerance_minutes=10)
    result = assess(_plan(), _at(40), _at(100), rules)
    assert not result.within_tolerance
    assert result.exception_reason == "Started 40 minutes late: more than the 10-minute tolerance"


@pytest.mark.parametrize(
    ("basis", "rounding", "expected_minutes"),
    [
        (PayBasis.ACTUAL, Rounding.UP, 45),  # 37 -> 45
        (PayBasis.ACTUAL, Rounding.DOWN, 30),
        (PayBasis.LESSER, Rounding.NEAREST, 30),
        (PayBasis.PLANNED, Rounding.NEAREST, 60),
    ],
)
def test_a_short_visit_as_recorded_follows_the_basis_and_rounding(basis, rounding, expected_minutes):
    rules = DeliveryRules(pay_basis=basis, billing_increment_minutes=15, rounding=rounding, tolerance_minutes=10)
    result = assess(_plan(), _at(0), _at(37), rules)
    assert not result.within_tolerance and "lasted 37 minutes" in result.exception_reason.lower()
    assert result.recorded_minutes == expected_minutes
    assert result.recorded_pence == pence_for_minutes(2_400, expected_minutes)


def test_an_overrun_is_never_paid_more_than_was_booked():
    rules = DeliveryRules(pay_basis=PayBasis.ACTUAL, billing_increment_minutes=15, rounding=Rounding.UP, tolerance_minutes=10)
    result = assess(_plan(hours=1), _at(0), _at(95), rules)
    assert result.recorded_minutes == 60 and result.recorded_pence == 2_400


def test_units_other_than_hours_are_paid_as_booked():
    result = assess(_plan(hours=1, price=9_000, unit=PriceUnit.NIGHT), _at(0), _at(600), DeliveryRules())
    assert result.recorded_pence == result.planned_pence == 9_000 and result.recorded_minutes is None


@given(
    start=st.integers(min_value=-120, max_value=120),
    length=st.integers(min_value=1, max_value=300),
    basis=st.sampled_from(list(PayBasis)),
    increment=st.sampled_from([1, 5, 15]),
    rounding=st.sampled_from(list(Rounding)),
    tolerance=st.integers(min_value=0, max_value=60),
)
def test_whatever_the_times_a_visit_is_paid_between_nothing_and_what_was_booked(start, length, basis, increment, rounding, tolerance):
    rules = DeliveryRules(pay_basis=basis, billing_increment_minutes=increment, rounding=rounding, tolerance_minutes=tolerance)
    result = assess(_plan(hours=2), _at(start), _at(start + length), rules)
    assert 0 <= result.recorded_pence <= 4_800 and result.planned_pence == 4_800
    assert result.within_tolerance == (abs(start) <= tolerance and abs(length - 120) <= tolerance)
