"""What was actually paid per unit of care delivered: by type of support and unit, on the
framework and off it, and month by month for one type of support."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import replace

from sqlalchemy import select

from app.extensions import db
from app.models import Booking, BookingVisit, Category, FrameworkLot, FrameworkMembership, MembershipStatus, PriceUnit, Service, VisitStatus
from app.services.reports.filters import ReportFilter
from app.services.reports.stats import change, weighted_mean
from app.services.reports.supply_visits import month_index, summed
from app.services.reports.tables import Chart, Column, Kind, Table

HOME_CARE = "home-care"
DELIVERED = (BookingVisit.status == VisitStatus.DELIVERED, BookingVisit.delivered_units > 0)
PAID_NOTE = (
    "The average paid is what providers charged for visits delivered, divided by the units delivered (so each unit "
    "counts once, whatever the visit's length), for visits starting in the period, at the unit price of the booking. "
    "Framework providers are those approved on the framework lot for that type of support now. "
)
HCA_NOTE = "For context, not a target: the Homecare Association's minimum price for home care was £28.53 an hour for 2024-25."


def whole_pence(value: float | None) -> int | None:
    """Pence rounded half up (an average or quartile may fall between two pence)."""
    return None if value is None else math.floor(value + 0.5)


def framework_pairs() -> set[tuple[int, int]]:
    """(provider id, category id) for every approved place on a framework lot."""
    statement = (
        select(FrameworkMembership.provider_id, FrameworkLot.category_id)
        .join(FrameworkLot, FrameworkLot.id == FrameworkMembership.lot_id)
        .where(FrameworkMembership.status == MembershipStatus.APPROVED)
    )
    return set(db.session.execute(statement).tuples())


def delivered(f: ReportFilter) -> dict[tuple[int, PriceUnit, bool], list[int]]:
    """(category id, unit, on the framework) -> [pence charged, units delivered]."""
    keys = {"category_id": Service.category_id, "unit": Booking.price_unit, "provider_id": Booking.provider_id}
    on_framework = framework_pairs()
    folded: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    found = summed(f, keys, (BookingVisit.charged_pence, BookingVisit.delivered_units), *DELIVERED)
    for (category_id, unit, provider_id), (pence, units) in found.items():
        cell = folded[(category_id, PriceUnit(unit), (provider_id, category_id) in on_framework)]
        cell[0] += pence
        cell[1] += units
    return dict(folded)


def paid(f: ReportFilter, names: dict[int, str], order: dict[int, int], rates: dict) -> Table:
    cells = delivered(f)
    rows = []
    for category_id, unit in sorted({(c, u) for c, u, _ in cells}, key=lambda key: (order.get(key[0], 0), list(PriceUnit).index(key[1]))):
        on = cells.get((category_id, unit, True), [0, 0])
        off = cells.get((category_id, unit, False), [0, 0])
        framework, other = weighted_mean([on]), weighted_mean([off])
        everyone = weighted_mean([on, off])
        rate = rates.get((category_id, unit))
        reference = rate.rate_pence if rate else None
        rows.append(
            (
                names.get(category_id, "Unknown"),
                unit.value,
                whole_pence(framework),
                on[1],
                whole_pence(other),
                off[1],
                whole_pence(everyone),
                reference,
                change(everyone, reference),
                change(framework, other),
            )
        )
    return Table(
        "paid",
        "Average price paid per unit delivered",
        (
            Column("category", "Type of support"),
            Column("unit", "Unit"),
            Column("framework", "Framework providers", Kind.PENCE),
            Column("framework_units", "Units (framework)", Kind.NUMBER),
            Column("other", "Other providers", Kind.PENCE),
            Column("other_units", "Units (other)", Kind.NUMBER),
            Column("average", "All providers", Kind.PENCE),
            Column("reference", "Reference rate", Kind.PENCE),
            Column("against_reference", "All against reference", Kind.SHARE),
            Column("framework_against_other", "Framework against other", Kind.SHARE),
        ),
        rows,
        chart=Chart(
            "bar",
            "category",
            ("framework", "other", "reference"),
            "Average paid per unit: framework and other providers",
            f"The average price paid per unit delivered by framework and other providers, beside the reference rate, {f.describe()}.",
        ),
        note=PAID_NOTE + "The district is where the care was for; the way of paying is the booking's.",
    )


def trend_category(f: ReportFilter, kinds: list[Category]) -> Category | None:
    return f.category or next((kind for kind in kinds if kind.slug == HOME_CARE), None)


def _monthly(f: ReportFilter) -> tuple[PriceUnit, dict[int, list[int]]]:
    """The unit shown (an hour, unless the type of support has no hourly deliveries: then
    its unit with the most units delivered) and month index -> [pence, units]."""
    keys = {"month": month_index(BookingVisit.starts_at, f.months), "unit": Booking.price_unit}
    found = summed(f, keys, (BookingVisit.charged_pence, BookingVisit.delivered_units), *DELIVERED)
    units_by_unit: dict[PriceUnit, int] = defaultdict(int)
    for (_, unit), (_, units) in found.items():
        units_by_unit[PriceUnit(unit)] += units
    chosen = PriceUnit.HOUR
    if units_by_unit and PriceUnit.HOUR not in units_by_unit:
        chosen = max(units_by_unit, key=lambda u: (units_by_unit[u], -list(PriceUnit).index(u)))
    months = {month: cell for (month, unit), cell in found.items() if PriceUnit(unit) is chosen and month is not None}
    return chosen, months


def trend(f: ReportFilter, kind: Category | None) -> tuple[Table, PriceUnit]:
    unit, months = (PriceUnit.HOUR, {}) if kind is None else _monthly(replace(f, category=kind))
    baseline = next((weighted_mean([months[i]]) for i in range(len(f.months)) if i in months), None)
    rows = []
    for i, month in enumerate(f.months):
        pence, units = months.get(i, (0, 0))
        average = weighted_mean([(pence, units)])
        rows.append((month, whole_pence(average), units, change(average, baseline)))
    name = kind.name if kind else "Home care"
    total = weighted_mean(months.values())
    return Table(
        "trend",
        f"{name}: average paid per {unit.value}, by month",
        (
            Column("month", "Month", Kind.MONTH),
            Column("average", f"Average paid per {unit.value}", Kind.PENCE),
            Column("units", "Units delivered", Kind.NUMBER),
            Column("change", "Change since first month", Kind.SHARE),
        ),
        rows,
        total=("All months", whole_pence(total), sum(units for _, units in months.values()), None),
        chart=Chart(
            "line",
            "month",
            ("average",),
            f"{name}: average paid per {unit.value}",
            f"The average price paid per {unit.value} of {name.lower()} delivered each month, {f.describe()}.",
        ),
        note=PAID_NOTE + "The change is against the first month of the period with any care delivered. " + HCA_NOTE,
    ), unit
