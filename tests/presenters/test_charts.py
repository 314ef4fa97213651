from __future__ import annotations

import datetime as dt
import re

import pytest

from app.presenters.charts import MARKERS, PALETTE, chart_for, format_value, nice_ticks
from app.services.reports.tables import SUPPRESSED, Chart, Column, Kind, Table

MONTHS = [dt.date(2025, 11, 1), dt.date(2025, 12, 1), dt.date(2026, 1, 1), dt.date(2026, 2, 1)]


def bar_table(rows, series=("spend",), kinds=None, slug="spend-by-type"):
    kinds = kinds or {}
    columns = (Column("type", "Type of care"), *(Column(key, key.title(), kinds.get(key, Kind.PENCE)) for key in series))
    chart = Chart("bar", "type", tuple(series), "Spend by type of care", "Home care takes most of the spend.")
    return Table(slug, "Spend by type of care", columns, rows=list(rows), chart=chart)


def line_table(rows, series=("bookings",), kind=Kind.COUNT):
    columns = (Column("month", "Month", Kind.MONTH), *(Column(key, key.title(), kind) for key in series))
    chart = Chart("line", "month", tuple(series), "Bookings by month", "Bookings rose over the winter.")
    return Table("bookings-by-month", "Bookings by month", columns, rows=list(rows), chart=chart)


def bars(view):
    return [bar for group in view.bars.groups for bar in group.bars]


def test_a_table_without_a_chart_or_without_rows_draws_nothing():
    assert chart_for(Table("t", "T", (Column("a", "A"),), rows=[("x",)])) is None
    assert chart_for(bar_table([])) is None


def test_bars_are_as_long_as_their_values():
    view = chart_for(bar_table([("Home care", 2000), ("Day care", 1000), ("Respite", 0)]))

    home, day, respite = bars(view)
    assert home.width == pytest.approx(2 * day.width, abs=0.02)
    assert home.x == day.x == view.bars.zero_x
    assert respite.width == 0
    assert [home.label.text, day.label.text, respite.label.text] == ["£20", "£10", "£0"]
    assert home.label.x > home.x + home.width  # the value sits at the bar's end


def test_negative_values_extend_left_of_the_zero_line():
    view = chart_for(bar_table([("Home care", 3000), ("Refunds", -1000)]))

    spend, refund = bars(view)
    zero = view.bars.zero_x
    assert zero > 0
    assert refund.x + refund.width == pytest.approx(zero, abs=0.02)
    assert refund.x < zero <= spend.x
    assert spend.width == pytest.approx(3 * refund.width, abs=0.02)
    assert refund.label.text == "-£10"
    assert refund.label.anchor == "end" and refund.label.x < refund.x


def test_suppressed_and_missing_figures_draw_no_bar_but_say_why():
    view = chart_for(
        bar_table(
            [("Home care", 12, 4), ("Day care", SUPPRESSED, None)],
            series=("people", "hours"),
            kinds={"people": Kind.PEOPLE, "hours": Kind.NUMBER},
        )
    )

    people, hours, suppressed, missing = bars(view)
    assert people.drawn and hours.drawn
    assert not suppressed.drawn and suppressed.width == 0 and suppressed.label.text == "fewer than 5"
    assert not missing.drawn and missing.label.text == "no data"


def test_all_zeros_and_a_single_row_still_draw():
    view = chart_for(bar_table([("Home care", 0)]))
    assert [bar.width for bar in bars(view)] == [0]

    line = chart_for(line_table([(MONTHS[0], 0)]))
    [point] = line.line.lines[0].points
    assert point.y == line.line.zero_y == line.line.bottom
    assert line.line.left < point.x < line.line.right
    assert line.line.y_ticks[0].value == 0


def test_long_labels_are_shortened_with_the_full_words_kept():
    long_name = "Day services for adults with learning disabilities"
    view = chart_for(bar_table([(long_name, 100)]))

    label = view.bars.groups[0].label
    assert len(label.text) <= 28 and label.text.endswith("…")
    assert label.shortened and label.full == long_name


def test_figures_are_labelled_in_their_kind():
    assert format_value(123456, Kind.PENCE) == "£1,235"
    assert format_value(1250, Kind.PENCE) == "£12.50"
    assert format_value(-550, Kind.PENCE) == "-£5.50"
    assert format_value(0.454, Kind.SHARE) == "45%"
    assert format_value(1234, Kind.COUNT) == "1,234"
    assert format_value(2.25, Kind.NUMBER) == "2.2"
    assert format_value(3.0, Kind.NUMBER) == "3"
    assert format_value(SUPPRESSED, Kind.PEOPLE) == "fewer than 5"


def test_months_run_in_order_and_higher_values_sit_higher():
    rows = [(MONTHS[2], 30), (MONTHS[0], 10), (MONTHS[3], 40), (MONTHS[1], 20)]
    view = chart_for(line_table(rows))

    points = view.line.lines[0].points
    assert [p.value for p in points] == [10, 20, 30, 40]
    xs, ys = [p.x for p in points], [p.y for p in points]
    assert xs == sorted(xs) and len(set(xs)) == 4
    assert ys == sorted(ys, reverse=True) and len(set(ys)) == 4
    assert [label.text for label in view.line.x_labels] == ["Nov 2025", "Dec 2025", "Jan 2026", "Feb 2026"]


def test_each_line_has_its_own_marker_dash_and_colour_in_palette_order():
    rows = [(m, 1, 2, 3, 4) for m in MONTHS]
    view = chart_for(line_table(rows, series=("a", "b", "c", "d")))

    series = [line.series for line in view.line.lines]
    assert [s.colour for s in series] == list(PALETTE) == ["#12436D", "#28A197", "#801650", "#F46A25"]
    assert [s.marker for s in series] == list(MARKERS)
    assert len({s.dash for s in series}) == 4
    assert [line.markers[0].shape for line in view.line.lines] == list(MARKERS)
    assert [item.series.heading for item in view.legend] == ["A", "B", "C", "D"]
    assert all(item.marker.shape == s.marker for item, s in zip(view.legend, series))


def test_bars_take_colours_in_palette_order_and_one_series_needs_no_legend():
    view = chart_for(bar_table([("Home care", 1, 2, 3)], series=("a", "b", "c")))
    assert [bar.series.colour for bar in bars(view)] == list(PALETTE[:3])
    assert len(view.legend) == 3

    assert chart_for(bar_table([("Home care", 1)])).legend == ()


def test_at_most_four_series():
    table = bar_table([("Home care", 1, 2, 3, 4, 5)], series=("a", "b", "c", "d", "e"))
    with pytest.raises(ValueError, match="1 to 4 series"):
        chart_for(table)


def test_a_suppressed_month_breaks_the_line():
    view = chart_for(line_table([(MONTHS[0], 10), (MONTHS[1], SUPPRESSED), (MONTHS[2], 12), (MONTHS[3], 14)]))

    line = view.line.lines[0]
    assert [[p.value for p in segment] for segment in line.segments] == [[10], [12, 14]]
    assert len(line.markers) == 3
    assert len(line.polylines) == 1  # a lone point is a marker, not a line


@pytest.mark.parametrize(
    "lo, hi, kind, ticks",
    [
        (0, 0, Kind.COUNT, [0, 1, 2, 3, 4]),
        (0, 37, Kind.COUNT, [0, 10, 20, 30, 40]),
        (0, 0.45, Kind.SHARE, [0, 0.2, 0.4, 0.6]),
        (-30000, 120000, Kind.PENCE, [-50000, 0, 50000, 100000, 150000]),
        (-200, 0, Kind.PENCE, [-400, -300, -200, -100, 0]),
    ],
)
def test_gridlines_fall_on_round_figures_from_zero(lo, hi, kind, ticks):
    assert nice_ticks(lo, hi, kind) == pytest.approx(ticks)


def test_ticks_are_few_and_cover_the_figures():
    for hi in (1, 7, 9, 13, 99, 101, 4999, 123456):
        ticks = nice_ticks(0, hi, Kind.COUNT)
        assert ticks[0] == 0 and ticks[-1] >= hi
        assert 3 <= len(ticks) <= 5


def test_a_line_chart_needs_a_month_column():
    table = line_table([(MONTHS[0], 1)])
    table.columns = (Column("month", "Month", Kind.TEXT), table.columns[1])
    with pytest.raises(ValueError, match="month column"):
        chart_for(table)


def test_the_macro_draws_an_accessible_chart_and_escapes_labels(app):
    from flask import render_template_string

    table = bar_table(
        [("<script>alert(1)</script>", 1000, 500), ("Day care", SUPPRESSED, 200)], series=("a", "b"), kinds={"a": Kind.PEOPLE}
    )
    html = render_template_string('{% from "_macros/charts.html" import chart %}{{ chart(table) }}', table=table)

    assert '<figure class="app-chart">' in html
    svg = re.search(r"<svg [^>]*>", html).group(0)
    assert 'role="img"' in svg and 'viewBox="0 0 640 ' in svg
    ids = re.search(r'aria-labelledby="([^"]+)"', svg).group(1).split()
    assert ids == ["chart-spend-by-type-title", "chart-spend-by-type-desc"]
    assert f'<title id="{ids[0]}">Spend by type of care</title>' in html
    assert f'<desc id="{ids[1]}">Home care takes most of the spend. The table below gives the figures.</desc>' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    assert "fewer than 5" in html
    assert "The same figures are in the table 'Spend by type of care' below." in html
    assert html.count("<rect ") == 2 + 3  # two legend swatches, three bars (the suppressed one is not drawn)


def test_the_macro_draws_nothing_for_a_table_without_a_chart(app):
    from flask import render_template_string

    table = Table("plain", "Plain", (Column("a", "A"),), rows=[("x",)])
    html = render_template_string('{% from "_macros/charts.html" import chart %}{{ chart(table) }}', table=table)
    assert html.strip() == ""


def test_a_line_chart_renders_its_markers_and_dashes(app):
    from flask import render_template_string

    rows = [(m, i, 2 * i) for i, m in enumerate(MONTHS)]
    html = render_template_string(
        '{% from "_macros/charts.html" import chart %}{{ chart(table) }}', table=line_table(rows, series=("a", "b"))
    )
    assert html.count("<polyline ") == 2
    assert html.count("<circle ") == 4 + 1  # one per month, and the legend's
    assert html.count("<polygon ") == 4 + 1
    assert 'stroke-dasharray="8 4"' in html
