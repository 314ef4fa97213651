"""The quality report: the Care Quality Commission rating mix of the services on the market
and of the money spent with providers."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.database import utcnow
from app.extensions import db
from app.models import CQCRating, Provider, SpendFact
from app.services.reports import spend_query
from app.services.reports.filters import ReportFilter, categories
from app.services.reports.stats import share
from app.services.reports.supply_scope import LISTED_NOTE, in_scope
from app.services.reports.tables import Chart, Column, Figure, Kind, Report, Table

NOT_RATED, NOT_REGULATED = "not_rated", "not_regulated"
# (key, heading): CQC's four ratings best first, then the two ways of having none.
RATINGS = (
    *((rating.value, rating.label) for rating in CQCRating),
    (NOT_RATED, "Not yet rated"),
    (NOT_REGULATED, "Not regulated by CQC"),
)
GOOD_OR_BETTER = (CQCRating.OUTSTANDING.value, CQCRating.GOOD.value)

SUMMARY = (
    "The quality of what the market offers and of what the money buys: how many published services have providers rated "
    "Outstanding, Good, Requires improvement or Inadequate by the Care Quality Commission (or not yet rated, or not "
    "regulated by it), and the share of spend going to providers with each rating."
)
RATING_NOTE = (
    "The rating is the provider's current overall CQC rating. A provider CQC regulates but has not yet rated is "
    "'Not yet rated'; one with no CQC location (meals, transport, equipment and others CQC does not regulate) is "
    "'Not regulated by CQC'. Nationally in 2023 about 4% of services were rated Outstanding, 79% Good, 15% Requires "
    "improvement and 1% Inadequate. "
)


def rating_key(location_id: str | None, overall) -> str:
    if not location_id:
        return NOT_REGULATED
    return NOT_RATED if overall is None else CQCRating(overall).value


def _ratings() -> dict[int, str]:
    rows = db.session.execute(select(Provider.id, Provider.cqc_location_id, Provider.cqc_overall))
    return {pid: rating_key(location_id, overall) for pid, location_id, overall in rows}


def _services(f: ReportFilter, ratings: dict[int, str]) -> Table:
    found, _ = in_scope(f)
    kinds = [f.category] if f.category is not None else categories()
    counts = {(kind.id, key): 0 for kind in kinds for key, _ in RATINGS}
    for listing in found:
        counts[(listing.category_id, ratings.get(listing.provider_id, NOT_REGULATED))] += 1
    rows = []
    for kind in kinds:
        values = [counts[(kind.id, key)] for key, _ in RATINGS]
        rows.append((kind.name, *values, sum(values)))
    totals = [sum(row[i] for row in rows) for i in range(1, len(RATINGS) + 2)]
    scope = ("For a district, services of providers working there count. " if f.district else "") + (
        "For a way of paying, services that accept it count. " if f.way else ""
    )
    return Table(
        "services",
        "Published services by type of support and provider's CQC rating",
        (
            Column("category", "Type of support"),
            *(Column(key, heading, Kind.COUNT) for key, heading in RATINGS),
            Column("total", "All services", Kind.COUNT),
        ),
        rows,
        total=("All types of support", *totals),
        chart=Chart(
            "bar",
            "category",
            tuple(rating.value for rating in CQCRating),
            "Services by CQC rating",
            f"The number of published services whose provider has each CQC rating, {f.describe()}. "
            "Services not yet rated or not regulated are in the table.",
        ),
        note=RATING_NOTE + scope + LISTED_NOTE,
    )


def _spend(f: ReportFilter, ratings: dict[int, str]) -> Table:
    amounts = dict.fromkeys((key for key, _ in RATINGS), 0)
    for provider_id, pence in spend_query.grouped(f, SpendFact.provider_id):
        amounts[ratings.get(provider_id, NOT_REGULATED)] += int(pence or 0)
    everything = sum(amounts.values())
    rows = [(heading, amounts[key], share(amounts[key], everything)) for key, heading in RATINGS]
    return Table(
        "spend",
        "Spend by provider's CQC rating",
        (Column("rating", "CQC rating"), Column("spend", "Spend", Kind.PENCE), Column("share", "Share of spend", Kind.SHARE)),
        rows,
        total=("All ratings", everything, share(everything, everything)),
        chart=Chart(
            "bar",
            "rating",
            ("share",),
            "Share of spend by CQC rating",
            f"The share of spend going to providers with each CQC rating, {f.describe()}.",
        ),
        note=RATING_NOTE
        + "Spend is what providers became owed for care in the period, less card refunds. It is grouped by each provider's "
        "rating today, not the rating it had when the care was delivered. The district is where the care was for.",
    )


def build(f: ReportFilter, *, now: dt.datetime | None = None) -> Report:
    ratings = _ratings()
    services = _services(f, ratings)
    spend = _spend(f, ratings)
    good_spend = sum(row[1] for row, (key, _) in zip(spend.rows, RATINGS, strict=True) if key in GOOD_OR_BETTER)
    good_services = sum(services.total[1 + i] for i, (key, _) in enumerate(RATINGS) if key in GOOD_OR_BETTER)
    inadequate = services.total[1 + [key for key, _ in RATINGS].index(CQCRating.INADEQUATE.value)]
    good_share = share(good_services, services.total[-1])
    figures = [
        Figure("Share of spend with providers rated Good or Outstanding", share(good_spend, spend.total[1]), Kind.SHARE, "Rated today"),
        Figure("Share of published services rated Good or Outstanding", good_share, Kind.SHARE, "Of all services, regulated or not"),
        Figure("Published services of providers rated Inadequate", inadequate, Kind.COUNT),
    ]
    return Report(
        slug="quality",
        title="Quality",
        summary=SUMMARY,
        figures=figures,
        tables=[services, spend],
        calculated_at=now or utcnow(),
    )
