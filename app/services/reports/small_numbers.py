"""Small numbers: a count of fewer than 5 people is never shown or downloaded as a number,
so nobody can be picked out of a report.

Primary suppression replaces each count of 1 to 4 with "fewer than 5". That alone is not
enough where a total is shown: the hidden cell could be worked out as the total minus the
others. So wherever a column (or the table's total row) would leave exactly one hidden
cell recoverable, the next smallest count is hidden too (secondary suppression), and a
total is hidden when it is itself fewer than 5.
"""

from __future__ import annotations

from app.services.reports.tables import SUPPRESSED, Kind, Table

THRESHOLD = 5


def is_small(value) -> bool:
    return isinstance(value, int) and 0 < value < THRESHOLD


def suppress(table: Table) -> Table:
    """The table with every PEOPLE count made safe to publish (changed in place, returned)."""
    people = [i for i, c in enumerate(table.columns) if c.kind is Kind.PEOPLE]
    if not people:
        return table
    rows = [list(row) for row in table.rows]
    total = list(table.total) if table.total is not None else None
    for i in people:
        hidden = {r for r, row in enumerate(rows) if is_small(row[i])}
        if total is not None and len(hidden) == 1:
            # One hidden cell and a total: hide the next smallest too, or the total gives it away.
            others = sorted((row[i], r) for r, row in enumerate(rows) if r not in hidden and isinstance(row[i], int) and row[i] > 0)
            if others:
                hidden.add(others[0][1])
        for r in hidden:
            rows[r][i] = SUPPRESSED
        if total is not None and is_small(total[i]):
            total[i] = SUPPRESSED
    table.rows = [tuple(row) for row in rows]
    table.total = tuple(total) if total is not None else None
    return table


def suppress_share(people: int, share: float | None):
    """A share worked out from a count of people: hidden with the count when that is small."""
    return SUPPRESSED if is_small(people) else share
