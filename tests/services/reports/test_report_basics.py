"""The pieces every report is made of: statistics worked by hand, small-number
suppression that cannot be undone from totals, and filters that refuse what they cannot use."""

from __future__ import annotations

import datetime as dt

import pytest

from app.models import WayOfPaying
from app.services.reports import filters, stats
from app.services.reports.small_numbers import suppress
from app.services.reports.tables import SUPPRESSED, Column, Kind, Table


def test_quartiles_interpolate_between_ranks_like_a_spreadsheet():
    prices = [1800, 2000, 2200, 2500, 3000]
    # Ranks 0..4: the lower quartile sits at rank 1 (2000), the median at 2, the upper at 3.
    assert stats.price_spread(prices) == (1800, 2000, 2200, 2500, 3000)
    # Four values: the lower quartile is at rank 0.75: 1000 + 0.75 * (2000 - 1000) = 1750.
    assert stats.quantile([1000, 2000, 3000, 4000], 0.25) == 1750
    assert stats.quantile([4000, 1000, 3000, 2000], 0.5) == 2500
    assert stats.price_spread([]) == (None, None, None, None, None)


def test_weighted_mean_is_total_pence_over_total_units():
    # 10 hours at £20 and 2 hours at £30: £260 over 12 hours = £21.67, not the £25 a plain mean gives.
    assert stats.weighted_mean([(20_000, 10), (6_000, 2)]) == pytest.approx(2166.67, abs=0.01)
    assert stats.weighted_mean([]) is None


def test_hhi_and_top_three_share():
    # Shares 50, 30, 20: 2,500 + 900 + 400 = 3,800.
    assert stats.hhi([500, 300, 200]) == pytest.approx(3800)
    assert stats.hhi([100]) == pytest.approx(10_000)
    assert stats.hhi([]) == 0
    assert stats.hhi_band(3800) == "Highly concentrated"
    assert stats.hhi_band(1500) == "Concentrated"
    assert stats.hhi_band(1000) == "Not concentrated"
    # Four firms of 40, 30, 20, 10: the top three hold 90%.
    assert stats.top_share([10, 40, 20, 30]) == pytest.approx(0.9)
    assert stats.change(110, 100) == pytest.approx(0.1)


def _people_table(counts, total=True):
    rows = [(f"Area {i}", n) for i, n in enumerate(counts)]
    return Table(
        "t",
        "People by area",
        (Column("area", "Area"), Column("people", "People", Kind.PEOPLE)),
        rows,
        total=("Total", sum(counts)) if total else None,
    )


def test_counts_under_five_people_are_hidden():
    table = suppress(_people_table([0, 3, 12, 40], total=False))
    assert [row[1] for row in table.rows] == [0, SUPPRESSED, 12, 40]


def test_a_single_hidden_count_cannot_be_worked_out_from_the_total():
    table = suppress(_people_table([3, 12, 40]))
    # 55 - 12 - 40 would give the 3 back, so the next smallest (12) is hidden too.
    assert [row[1] for row in table.rows] == [SUPPRESSED, SUPPRESSED, 40]
    assert table.total == ("Total", 55)


def test_a_total_under_five_is_hidden_too():
    table = suppress(_people_table([1, 2]))
    assert [row[1] for row in table.rows] == [SUPPRESSED, SUPPRESSED]
    assert table.total == ("Total", SUPPRESSED)


def test_counts_of_things_are_never_hidden():
    table = Table("t", "Services", (Column("area", "Area"), Column("services", "Services", Kind.COUNT)), [("A", 2)], total=("Total", 2))
    assert suppress(table).rows == [("A", 2)]


def test_filters_default_to_the_twelve_months_to_this_one(app):
    f, errors = filters.parse({}, today=dt.date(2026, 12, 6))
    assert errors == {}
    assert (f.first_month, f.last_month) == (dt.date(2026, 1, 1), dt.date(2026, 12, 1))
    assert len(f.months) == 12
    assert f.starts_at == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)  # GMT in January
    assert f.ends_at == dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


def test_filters_report_what_they_cannot_use_and_fall_back(app, category, make_district):
    from app.database import write_transaction
    from app.extensions import db
    from app.models import CouncilDistrict

    make_district("PE1")
    with write_transaction():
        db.session.add(CouncilDistrict(outward_code="PE1"))
    f, errors = filters.parse(
        {"from": "2026-13", "to": "2026-06", "category": "nonsense", "district": "ZZ9", "way": "gold"}, today=dt.date(2026, 12, 6)
    )
    assert set(errors) == {"from", "category", "district", "way"}
    assert f.category is None and f.district is None and f.way is None
    good, errors = filters.parse(
        {"from": "2026-03", "to": "2026-05", "category": category().slug, "district": "pe1", "way": "isf"}, today=dt.date(2026, 12, 6)
    )
    assert errors == {}
    assert (good.first_month, good.last_month, good.district, good.way) == (
        dt.date(2026, 3, 1),
        dt.date(2026, 5, 1),
        "PE1",
        WayOfPaying.ISF,
    )
    assert good.query_args() == {"from": "2026-03", "to": "2026-05", "category": category().slug, "district": "PE1", "way": "isf"}
    _, errors = filters.parse({"from": "2026-06", "to": "2026-03"}, today=dt.date(2026, 12, 6))
    assert errors == {"from": "The first month must be the same as or before the last month"}
