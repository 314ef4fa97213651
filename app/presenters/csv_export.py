"""Writing CSV files people open in spreadsheet programs.

``safe_cell`` stops a cell being run as a formula ("CSV injection"): text that came from
people (a name, a note, an email typed at the sign-in page) and starts with ``=``, ``+``,
``-``, ``@``, a tab or a line break is prefixed with an apostrophe, which spreadsheets
show as text. Every CSV export applies it to every text column; amounts written by the
app itself (like ``-12.50``) are not passed through it, so they stay numbers.
"""

from __future__ import annotations

from typing import Any

# The ASCII triggers, their fullwidth forms (some spreadsheet programs take those too),
# and the control characters that can start a new cell or line.
FORMULA_STARTS = frozenset("=+-@\t\r\n" + "＝＋－＠")


def safe_cell(value: Any) -> Any:
    """The value, or for text that a spreadsheet would run as a formula, the same text
    prefixed with an apostrophe. Leading spaces do not hide a formula."""
    if not isinstance(value, str):
        return value
    if value.lstrip(" ")[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def safe_row(values) -> list:
    """``safe_cell`` on every value of a row."""
    return [safe_cell(value) for value in values]


def plain_pounds(pence: int) -> str:
    """Plain pounds and pence for spreadsheets: 1234 -> '12.34'."""
    sign = "-" if pence < 0 else ""
    return f"{sign}{abs(pence) // 100}.{abs(pence) % 100:02d}"
