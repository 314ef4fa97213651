"""The supply report: what the market offers by type of support and postcode district, how
much of its capacity is booked, and how it changed month by month."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from app.database import utcnow
from app.services.reports.filters import ReportFilter, categories
from app.services.reports.supply_capacity import capacity
from app.services.reports.supply_changes import SERIES, changes_note, monthly_changes
from app.services.reports.supply_scope import LISTED_NOTE, Listing, council_districts, in_scope
from app.services.reports.tables import Chart, Column, Figure, Kind, Report, Table

SUMMARY = (
    "Who offers what, and where: the providers and published services for each type of support in each postcode district "
    "of the council's area, how much of their weekly capacity people have booked, and how many services and providers "
    "joined and left the marketplace each month."
)
AREA_NOTE = (
    "A provider works in the districts it lists and, if it gives a service radius, in every district of the council's area "
    "whose centre is within that distance of its base. A service counts in every district its provider works in, so "
    "the total row counts each provider and service once. "
)
WAY_NOTE = "For a way of paying, only services that accept it count. "


def _districts(f: ReportFilter, found: list[Listing], cover: dict) -> list[str]:
    if f.district:
        return [f.district]
    return council_districts() or sorted({d for listing in found for d in cover.get(listing.provider_id, ())})


def _cells(found: list[Listing], cover: dict, districts: list[str]) -> dict[tuple[int, str], tuple[set, set]]:
    """(category id, district) -> (provider ids, service ids)."""
    wanted = set(districts)
    cells: dict[tuple[int, str], tuple[set, set]] = defaultdict(lambda: (set(), set()))
    for listing in found:
        for district in cover.get(listing.provider_id, ()):
            if district in wanted:
                providers, services = cells[(listing.category_id, district)]
                providers.add(listing.provider_id)
                services.add(listing.id)
    return cells


def _by_area(f: ReportFilter, kinds: list, districts: list[str], cells: dict) -> Table:
    rows = []
    for kind in kinds:
        for district in districts:
            providers, services = cells.get((kind.id, district), ((), ()))
            rows.append((kind.name, district, len(providers), len(services)))
    everyone = set().union(*(p for p, _ in cells.values())) if cells else set()
    everything = set().union(*(s for _, s in cells.values())) if cells else set()
    chart = None
    if f.category is not None:
        chart = Chart(
            "bar",
            "district",
            ("services", "providers"),
            f"{f.category.name}: services and providers by district",
            f"The number of published services and providers of {f.category.name} working in each district, {f.describe()}.",
        )
    return Table(
        "by-area",
        "Providers and services by type of support and district",
        (
            Column("category", "Type of support"),
            Column("district", "District"),
            Column("providers", "Providers", Kind.COUNT),
            Column("services", "Services", Kind.COUNT),
        ),
        rows,
        total=("All types of support", "All districts", len(everyone), len(everything)),
        chart=chart,
        note=AREA_NOTE + (WAY_NOTE if f.way else "") + LISTED_NOTE + " A row with no services is a gap in supply.",
    )


def _by_category(f: ReportFilter, kinds: list, districts: list[str], cells: dict) -> Table:
    rows = []
    for kind in kinds:
        providers = set().union(*(cells.get((kind.id, d), ((), ()))[0] for d in districts))
        services = set().union(*(cells.get((kind.id, d), ((), ()))[1] for d in districts))
        gaps = sum(1 for d in districts if not cells.get((kind.id, d), ((), ()))[1])
        rows.append((kind.name, len(providers), len(services), gaps))
    return Table(
        "by-category",
        "Providers and services by type of support",
        (
            Column("category", "Type of support"),
            Column("providers", "Providers", Kind.COUNT),
            Column("services", "Services", Kind.COUNT),
            Column("gaps", "Districts with none", Kind.COUNT),
        ),
        rows,
        chart=Chart(
            "bar",
            "category",
            ("services", "providers"),
            "Services and providers by type of support",
            f"The number of published services and providers of each type of support, {f.describe()}.",
        ),
        note="Services and providers working in at least one of the districts shown. " + (WAY_NOTE if f.way else "") + LISTED_NOTE,
    )


def _changes(f: ReportFilter) -> Table:
    rows = monthly_changes(f)
    return Table(
        "changes",
        "Services and providers joining and leaving, by month",
        (Column("month", "Month", Kind.MONTH), *(Column(key, heading, Kind.COUNT) for key, heading, *_ in SERIES)),
        rows,
        total=("All months", *(sum(row[i] for row in rows) for i in range(1, len(SERIES) + 1))),
        chart=Chart(
            "line",
            "month",
            tuple(key for key, *_ in SERIES),
            "Services and providers joining and leaving",
            f"Services listed and withdrawn, providers joining and suspended, each month, {f.describe()}.",
        ),
        note=changes_note(f),
    )


def build(f: ReportFilter, *, now: dt.datetime | None = None) -> Report:
    found, cover = in_scope(f)
    kinds = [f.category] if f.category is not None else categories()
    names = {kind.id: kind.name for kind in categories()}
    districts = _districts(f, found, cover)
    cells = _cells(found, cover, districts)
    by_area = _by_area(f, kinds, districts, cells)
    by_category = _by_category(f, kinds, districts, cells)
    changes = _changes(f)
    gaps = sum(1 for row in by_area.rows if row[3] == 0)
    figures = [
        Figure("Published services", by_area.total[3], Kind.COUNT, "Listed by verified providers in the districts shown"),
        Figure("Providers with published services", by_area.total[2], Kind.COUNT),
        Figure("Districts and types of support with no service", gaps, Kind.COUNT, "Rows of the table by area with no service"),
        Figure("Services listed in the period", changes.total[1], Kind.COUNT, "Published for the first time"),
    ]
    return Report(
        slug="supply",
        title="Supply",
        summary=SUMMARY,
        figures=figures,
        tables=[by_category, by_area, capacity(f, found, names), changes],
        calculated_at=now or utcnow(),
    )
