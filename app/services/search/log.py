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

import re

from sqlalchemy import text

from app.database import write_transaction
from app.models import SearchChannel, SearchLog
from app.services.search.params import DAY_VALUES, SearchParams

_FULL_POSTCODE = re.compile(r"\b([A-Z]{1,2}[0-9][A-Z0-9]?)\s*[0-9][ABD-HJLNP-UW-Z]{2}\b", re.IGNORECASE)
_EMAIL = re.compile(r"\S+@\S+")
_LONG_NUMBER = re.compile(r"\+?\d[\d ()-]{6,}\d")


def scrub_words(text: str) -> str:
    """Search words without personal details: full postcodes become their district,
    email addresses and phone-like numbers are dropped."""
    text = _EMAIL.sub(" ", text or "")
    text = _LONG_NUMBER.sub(" ", text)
    text = _FULL_POSTCODE.sub(lambda m: m.group(1).upper(), text)
    return " ".join(text.split())[:200]


def record(params: SearchParams, result_count: int, channel: SearchChannel) -> None:
    """Record one search. Only first pages count, and only searches: arriving at the
    search page with no words and no filters asks for nothing."""
    if params.page != 1 or params.is_blank:
        return
    district = params.postcode.split()[0] if params.postcode else None
    with write_transaction() as session:
        if session.get_bind().dialect.name == "postgresql":
            # Statistics, not records: the commit need not wait for the disk (a crash of
            # the database server may lose the last few searches, nothing else). It
            # keeps a flush to disk off every search's response time.
            session.execute(text("SET LOCAL synchronous_commit TO OFF"))
        session.add(
            SearchLog(
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
        )
