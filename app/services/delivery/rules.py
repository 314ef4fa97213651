"""The council's rules for paying a visit from its actual times: pure arithmetic, no database.

A visit whose actual start and length are both within the tolerance of the plan is paid as
planned. Outside it, the visit is an exception for a commissioner, and what "pay as
recorded" would pay is worked out here: an hourly visit's actual minutes rounded to the
billing increment (up, to the nearest or down), then the planned, the actual or the lesser of
the two, as the council pays. A visit is never paid more than was booked: the booking is what
the person agreed to and what their money was set aside for. Other units (a visit, a day, a
night...) are paid as booked once delivered.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from app.models import PayBasis, PriceUnit, Rounding


@dataclass(frozen=True)
class Plan:
    starts_at: dt.datetime
    ends_at: dt.datetime
    units: int
    price_unit: PriceUnit
    unit_price_pence: int

    @property
    def minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)

    @property
    def amount_pence(self) -> int:
        return self.units * self.unit_price_pence

    @property
    def booked_minutes(self) -> int:
        """Minutes paid for (hourly services): the booked hours."""
        return self.units * 60


@dataclass(frozen=True)
class Assessment:
    within_tolerance: bool
    exception_reason: str  # why it is outside the tolerance ("" inside it)
    recorded_minutes: int | None  # hourly: what "as recorded" pays, after rounding and basis
    recorded_pence: int  # what paying "as recorded" pays
    planned_pence: int  # what paying "as planned" pays
    note: str  # the rule applied, in words

    @property
    def pence(self) -> int:
        """What the visit is paid without a person's decision (inside the tolerance)."""
        return self.planned_pence


def round_minutes(minutes: int, increment: int, rounding: Rounding) -> int:
    if increment <= 1:
        return minutes
    whole, left = divmod(minutes, increment)
    rounds_up = (rounding is Rounding.UP and left > 0) or (rounding is Rounding.NEAREST and left * 2 >= increment)
    return (whole + rounds_up) * increment


def pence_for_minutes(unit_price_pence: int, minutes: int) -> int:
    """An hourly price for ``minutes``, to the nearest penny (halves up), in whole pence."""
    return (unit_price_pence * minutes * 2 + 60) // 120


def _drift(plan: Plan, actual_start: dt.datetime, actual_end: dt.datetime, tolerance: int) -> str:
    """Why the actual times are outside the tolerance, or ""."""
    late = int((actual_start - plan.starts_at).total_seconds() // 60)
    length = int((actual_end - actual_start).total_seconds() // 60)
    reasons = []
    if abs(late) > tolerance:
        reasons.append(f"started {abs(late)} minutes {'late' if late > 0 else 'early'}")
    if abs(length - plan.minutes) > tolerance:
        reasons.append(f"lasted {length} minutes (planned {plan.minutes})")
    if not reasons:
        return ""
    text = " and ".join(reasons)
    return f"{text[0].upper()}{text[1:]}: more than the {tolerance}-minute tolerance"


def assess(plan: Plan, actual_start: dt.datetime, actual_end: dt.datetime, rules) -> Assessment:
    """What a visit with these actual times is paid under ``rules`` (the council's
    DeliveryRules: pay_basis, billing_increment_minutes, rounding, tolerance_minutes)."""
    reason = _drift(plan, actual_start, actual_end, rules.tolerance_minutes)
    if plan.price_unit is not PriceUnit.HOUR:
        note = f"Paid as booked: {plan.units} {plan.price_unit.value}{'s' if plan.units != 1 else ''}"
        return Assessment(not reason, reason, None, plan.amount_pence, plan.amount_pence, note)
    actual = int((actual_end - actual_start).total_seconds() // 60)
    billed = round_minutes(actual, rules.billing_increment_minutes, rules.rounding)
    chosen = {
        PayBasis.PLANNED: plan.booked_minutes,
        PayBasis.ACTUAL: billed,
        PayBasis.LESSER: min(billed, plan.booked_minutes),
    }[rules.pay_basis]
    paid = min(chosen, plan.booked_minutes)
    recorded = min(pence_for_minutes(plan.unit_price_pence, paid), plan.amount_pence)
    if reason:
        note = (
            f"{actual} minutes recorded, billed as {billed} ({rules.rounding.label.lower()} to {rules.billing_increment_minutes} "
            f"minutes); paid on {rules.pay_basis.label.lower()}: {paid} minutes, never more than the {plan.booked_minutes} booked"
        )
    else:
        note = f"Within the {rules.tolerance_minutes}-minute tolerance: paid as planned"
    return Assessment(not reason, reason, paid, recorded, plan.amount_pence, note)
