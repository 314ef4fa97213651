"""The few statistics the reports use, on whole numbers, written out so that a test can
check each against figures worked by hand."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def quantile(values: Sequence[int], q: float) -> float | None:
    """The ``q`` quantile (0 to 1) of ``values`` by linear interpolation between the closest
    ranks (the "inclusive" method of spreadsheets' QUARTILE.INC). None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def price_spread(values: Sequence[int]) -> tuple[int | None, float | None, float | None, float | None, int | None]:
    """Lowest, lower quartile, median, upper quartile and highest."""
    if not values:
        return None, None, None, None, None
    return min(values), quantile(values, 0.25), quantile(values, 0.5), quantile(values, 0.75), max(values)


def weighted_mean(pairs: Iterable[tuple[int, int]]) -> float | None:
    """The mean of values weighted by their weights, from (total value, total weight) pairs:
    total pence over total units. None when nothing was weighed."""
    value = weight = 0
    for v, w in pairs:
        value += v
        weight += w
    return value / weight if weight else None


def hhi(amounts: Iterable[int]) -> float:
    """The Herfindahl-Hirschman Index: the sum of the squared percentage shares of each firm
    (0 to 10,000). Firms with nothing (or less: net refunds) count as nothing."""
    positive = [a for a in amounts if a > 0]
    total = sum(positive)
    if not total:
        return 0.0
    return sum((100 * a / total) ** 2 for a in positive)


# The bands older UK merger guidance used; the current guidance sets none, so the reports
# call them indicative.
HHI_BANDS = ((2000, "Highly concentrated"), (1000, "Concentrated"), (0, "Not concentrated"))


def hhi_band(index: float) -> str:
    return next(label for floor, label in HHI_BANDS if index > floor or floor == 0)


def top_share(amounts: Iterable[int], n: int = 3) -> float | None:
    """The share (0 to 1) of the total that the ``n`` largest firms hold."""
    positive = sorted((a for a in amounts if a > 0), reverse=True)
    total = sum(positive)
    return sum(positive[:n]) / total if total else None


def change(now: float | None, then: float | None) -> float | None:
    """The relative change from ``then`` to ``now`` (0.1 for a 10% rise)."""
    if now is None or not then:
        return None
    return (now - then) / then


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None
