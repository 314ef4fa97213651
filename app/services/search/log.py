"""The demand signal: what people search for, kept for commissioners' reports on unmet
demand, with no personal data.

Each search (its first page only, so paging through results is not counted twice, and
not the bare search page with no words and no filters) records
the words, the filters, the postcode *district* (never the full postcode), the number of
results and the time. Nothing identifies who searched: no account, session, IP address or
browser. Words that look like personal details typed into the search box (a full
postcode, an email address, a phone number) are cut down or removed before saving.
"""

from __future__ import annotations

import logging
import re
from contextlib import nullcontext

from flask import Response, current_app, has_app_context
from sqlalchemy import text

from app.database import write_transaction
from app.models import SearchChannel, SearchLog
from app.services.search.params import DAY_VALUES, SearchParams

_FULL_POSTCODE = re.compile(r"\b([A-Z]{1,2}[0-9][A-Z0-9]?)\s*[0-9][ABD-HJLNP-UW-Z]{2}\b", re.IGNORECASE)
_EMAIL = re.compile(r"\S+@\S+")
_LONG_NUMBER = re.compile(r"\+?\d[\d ()-]{6,}\d")

log = logging.getLogger(__name__)


def scrub_words(text: str) -> str:
    """Search words without personal details: full postcodes become their district,
    email addresses and phone-like numbers are dropped."""
    text = _EMAIL.sub(" ", text or "")
    text = _LONG_NUMBER.sub(" ", text)
    text = _FULL_POSTCODE.sub(lambda m: m.group(1).upper(), text)
    return " ".join(text.split())[:200]


def record_after(response: Response, params: SearchParams, result_count: int, channel: SearchChannel) -> Response:
    """Record one search once ``response`` has been sent: a WSGI server closes a response
    after writing it, so the person never waits for the statistics. Only first pages count,
    and only searches: arriving at the search page with no words and no filters asks for
    nothing. A failure to record is logged, never shown (their page has gone already)."""
    if not _counts(params):
        return response
    entry = _entry(params, result_count, channel)
    app = current_app._get_current_object()

    def write() -> None:
        # A server closes the response after the request's context has gone: the write
        # has an app context (and database session) of its own, ended with it.
        with nullcontext() if has_app_context() else app.app_context():
            try:
                _write(entry)
            except Exception:
                log.exception("Could not record a search in the search log")

    response.call_on_close(write)
    return response


def _counts(params: SearchParams) -> bool:
    return params.page == 1 and not params.is_blank


def _entry(params: SearchParams, result_count: int, channel: SearchChannel) -> SearchLog:
    district = params.postcode.split()[0] if params.postcode else None
    return SearchLog(
        words=scrub_words(params.q),
        category_slug=params.category,
        postcode_district=district,
        radius_miles=params.radius_miles if district else None,
        max_price_pence=params.max_price_pence,
        min_cqc_rating=params.min_cqc_rating,
        funding=params.funding,
        supports=params.supports,
        days=",".join(DAY_VALUES[d] for d in params.days),
        framework_only=params.framework_only,
        sort=params.sort.value,
        result_count=result_count,
        channel=channel,
    )


def _write(entry: SearchLog) -> None:
    with write_transaction() as session:
        if session.get_bind().dialect.name == "postgresql":
            # Statistics, not records: the commit need not wait for the disk (a crash of
            # the database server may lose the last few searches, nothing else).
            session.execute(text("SET LOCAL synchronous_commit TO OFF"))
        session.add(entry)
