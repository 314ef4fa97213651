"""Showing free text that people typed."""

from __future__ import annotations

import re

_PARAGRAPH_BREAK = re.compile(r"(?:\r\n|\r|\n)[ \t]*(?:(?:\r\n|\r|\n)[ \t]*)+")


def paragraphs(text: str | None) -> list[str]:
    """The paragraphs of a text: parts separated by one or more blank lines, whatever
    line breaks it uses (CRLF from browsers, LF, CR). The template prints each one
    (autoescaped) in its own <p>."""
    return [part.strip() for part in _PARAGRAPH_BREAK.split(text or "") if part.strip()]
