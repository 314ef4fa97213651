"""Calendar files as HTTP responses: text/calendar in UTF-8, with a file name, never stored
by a cache (they hold people's visits)."""

from __future__ import annotations

from flask import Response


def ics_response(body: bytes, filename: str, *, secret_address: bool = False) -> Response:
    """A calendar file. ``secret_address``: served at a secret feed address, which calendars
    open in place (inline), search engines never index, and no page it links to learns."""
    disposition = "inline" if secret_address else "attachment"
    headers = {"Content-Disposition": f'{disposition}; filename="{filename}"', "Cache-Control": "private, no-store"}
    if secret_address:
        headers["X-Robots-Tag"] = "noindex, nofollow"
        headers["Referrer-Policy"] = "no-referrer"
    return Response(body, content_type="text/calendar; charset=utf-8", headers=headers)
