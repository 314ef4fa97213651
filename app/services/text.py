"""Free text that people type into forms."""

from __future__ import annotations

import re

_LINE_BREAK = re.compile(r"\r\n|\r")
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")


def clean_multiline(text: str | None) -> str:
    """Text typed into a textarea, as we store it: browsers send line breaks as CRLF
    ("\\r\\n"), so every break becomes "\\n"; spaces at the ends of lines go; a run of blank
    lines becomes one blank line (a paragraph break); no blank lines at either end."""
    text = _LINE_BREAK.sub("\n", text or "")
    lines = [line.rstrip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


PHONE = re.compile(r"^\+?[0-9 ()-]{10,20}$")


def is_phone_number(text: str) -> bool:
    """A UK or international telephone number as people type it (spaces, brackets, hyphens)."""
    return bool(PHONE.match(text))
