"""Demand and unmet demand: what people searched for, where, what found nothing, whether
a search was followed by a booking, and the requests providers turned away.

Searches are anonymous (services/search/log.py keeps no trace of who searched), so they
are counted as searches, never as people; the requests turned away stand for people and
are counted as such (demand_outcomes.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, func, select

from app.database import utcnow
from app.extensions import db
from app.models import SearchLog
from app.services import search
from app.services.reports.demand_outcomes import decline_reasons, search_to_booking, turned_away
from app.services.reports.demand_sql import month_index, normalised_words, search_conditions, way_note
from app.services.reports.filters import ReportFilter
from app.services.reports.small_numbers import is_small
from app.services.reports.stats import share
from app.services.reports.tables import SUPPRESSED, Chart, Column, Figure, Kind, Report, Table

NO_POSTCODE = "No postcode given"
FEW_RESULTS = 3  # fewer results than this is a search that left little choice
TOP_WORDS = 20
MIN_WORD_SEARCHES = 5  # words fewer searches used are never shown: they could be one person's


@dataclass(frozen=True)
class SearchCounts:
    """The filter's searches counted once, by month (0, 1, ... of the filter's months) and
    district: {(month, district or None): (searches, found nothing, found fewer than 3)}.
    Both the monthly and the district tables are folded from it, so the log is read once."""

    cells: dict[tuple[int, str | None], tuple[int, int, int]]

    def by_month(self) -> dict[int, tuple[int, int, int]]:
        return self._fold(0)

    def by_district(self) -> dict[str | None, tuple[int, int, int]]:
        return self._fold(1)

    def _fold(self, part: int) -> dict:
        totals: dict = {}
        for key, counts in self.cells.items():
            before = totals.get(key[part], (0, 0, 0))
            totals[key[part]] = tuple(a + b for a, b in zip(before, counts, strict=True))
        return totals


def search_counts(f: ReportFilter) -> SearchCounts:
    inner = (
        select(month_index(SearchLog.searched_at, f).label("m"), SearchLog.postcode_district.label("d"), SearchLog.result_count)
        .where(*search_conditions(f))
        .subquery()
    )
    found = inner.c.result_count
    rows = db.session.execute(
        select(
            inner.c.m,
            inner.c.d,
            func.count(),
            func.coalesce(func.sum(case((found == 0, 1), else_=0)), 0),
            func.coalesce(func.sum(case((found < FEW_RESULTS, 1), else_=0)), 0),
        ).group_by(inner.c.m, inner.c.d)
    ).all()
    return SearchCounts({(int(m), d): (int(n), int(none), int(few)) for m, d, n, none, few in rows})


def searches_by_month(f: ReportFilter, counted: SearchCounts | None = None) -> Table:
    counts = (counted or search_counts(f)).by_month()
    table = Table(
        slug="searches-by-month",
        caption="Searches by month",
        columns=(
            Column("month", "Month", Kind.MONTH),
            Column("searches", "Searches", Kind.COUNT),
            Column("nothing", "Found nothing", Kind.COUNT),
            Column("few", f"Found fewer than {FEW_RESULTS} services", Kind.COUNT),
        ),
        chart=Chart("line", "month", ("searches", "nothing", "few"), "Searches by month", f"Searches by month, {f.describe()}"),
        note="Each search counted once (its first page), not each person: searches are anonymous." + way_note(f),
    )
    if counts:
        table.rows = [(month, *counts.get(i, (0, 0, 0))) for i, month in enumerate(f.months)]
        table.total = ("Total", *(sum(row[i] for row in table.rows) for i in (1, 2, 3)))
    return table


def searches_by_area(f: ReportFilter, counted: SearchCounts | None = None) -> Table:
    rows = [(d, *counts) for d, counts in (counted or search_counts(f)).by_district().items()]
    ordered = sorted(rows, key=lambda r: (r[0] is None, -r[1], r[0] or ""))
    table = Table(
        slug="searches-by-area",
        caption="Searches by postcode district",
        columns=(
            Column("district", "Postcode district", Kind.TEXT),
            Column("searches", "Searches", Kind.COUNT),
            Column("nothing", "Found nothing", Kind.COUNT),
            Column("few", f"Found fewer than {FEW_RESULTS} services", Kind.COUNT),
            Column("unmet", f"Share finding fewer than {FEW_RESULTS}", Kind.SHARE),
        ),
        rows=[(d or NO_POSTCODE, n, none, few, share(few, n)) for d, n, none, few in ordered],
        chart=Chart(
            "bar",
            "district",
            ("unmet",),
            "Share of searches finding little",
            f"Share of searches finding fewer than 3 services by district, {f.describe()}",
        ),
        note=(
            "The district of the postcode the person searched near; searches without a postcode are shown apart. "
            f"Unmet: the search found fewer than {FEW_RESULTS} services (none included)." + way_note(f)
        ),
    )
    if rows:
        searches, nothing, few = (sum(r[i] for r in rows) for i in (1, 2, 3))
        table.total = ("Total", searches, nothing, few, share(few, searches))
    return table


def words_found_nothing(f: ReportFilter) -> Table:
    words = normalised_words(SearchLog.words)
    inner = select(words.label("w")).where(*search_conditions(f), SearchLog.result_count == 0).subquery()
    used = func.count()
    rows = db.session.execute(
        select(inner.c.w, used)
        .where(inner.c.w != "")
        .group_by(inner.c.w)
        .having(used >= MIN_WORD_SEARCHES)
        .order_by(used.desc(), inner.c.w)
        .limit(TOP_WORDS)
    ).all()
    now = search.totals_now([w for w, _ in rows])
    return Table(
        slug="words-found-nothing",
        caption="Words most searched for that found nothing",
        columns=(
            Column("words", "Search words", Kind.TEXT),
            Column("searches", "Searches", Kind.COUNT),
            Column("now", "Services a search for them finds now", Kind.COUNT),
        ),
        rows=[(w, int(n), now.get(w)) for w, n in rows],
        chart=Chart(
            "bar",
            "words",
            ("searches",),
            "Searches that found nothing",
            f"Most frequent words of searches that found nothing, {f.describe()}",
        ),
        note=(
            f"The {TOP_WORDS} most frequent search words (lower case, spacing tidied) among searches that found nothing. "
            f"Only words used by at least {MIN_WORD_SEARCHES} searches are shown, so nobody's unusual search can be read here. "
            "‘Finds now’ searches for the words again today, with no filters: a word the council added to the needs "
            "vocabulary, or a new listing, shows here as services found." + way_note(f)
        ),
    )


def _figures(by_month: Table, follow: Table, refused: Table) -> list[Figure]:
    searches = by_month.total[1] if by_month.total else 0
    nothing = by_month.total[2] if by_month.total else 0
    followed = follow.total[follow.index("share")] if follow.total else None
    turned = refused.total[refused.index("full")] if refused.total else 0
    return [
        Figure("Searches", searches, Kind.COUNT),
        Figure("Searches that found nothing", share(nothing, searches), Kind.SHARE),
        Figure("Searches followed by a booking within 7 days", followed, Kind.SHARE, "of searches with a type of support and a postcode"),
        Figure("Requests turned away because the service was full", SUPPRESSED if is_small(turned) else turned, Kind.PEOPLE),
    ]


def build(f: ReportFilter, *, now: dt.datetime | None = None) -> Report:
    counted = search_counts(f)
    by_month = searches_by_month(f, counted)
    follow = search_to_booking(f)
    refused = turned_away(f)
    tables = [by_month, searches_by_area(f, counted), words_found_nothing(f), follow, refused, decline_reasons(f)]
    return Report(
        slug="demand",
        title="Demand and unmet demand",
        summary="What people search for and where, what they could not find, and the requests providers could not take.",
        figures=_figures(by_month, follow, refused),
        tables=tables,
        calculated_at=now or utcnow(),
    )
