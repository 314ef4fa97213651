"""Reviews from the people who used a service: verified, once per booking, published after 7
days or on the provider's one public reply, never held back for being negative.

eligibility  who may review a booking's service, and why someone cannot
writing      writing a review; the provider's one public reply
reading      published reviews with their count, average and spread; a provider's own
moderation   providers report a review; the council takes it down (policy reasons only) or keeps it
counting     each service's published reviews as a count and a sum, for search and ranking
"""

from app.services.facade import seal
from app.services.reviews.counting import publish_due, totals_differ
from app.services.reviews.eligibility import REVIEW_WITHIN, review_of, reviewable, why_not
from app.services.reviews.moderation import (
    MAX_NOTE,
    decide,
    get_report,
    open_report_of,
    open_reports,
    recent_decisions,
    report,
    reported_ids,
)
from app.services.reviews.reading import SHOWN, ReviewSummary, for_provider, provider_counts, published, summary
from app.services.reviews.writing import MAX_TEXT, PUBLISH_AFTER, get_for_provider, reply, write

__all__ = [
    "MAX_NOTE",
    "MAX_TEXT",
    "PUBLISH_AFTER",
    "REVIEW_WITHIN",
    "SHOWN",
    "ReviewSummary",
    "decide",
    "for_provider",
    "get_for_provider",
    "get_report",
    "open_report_of",
    "open_reports",
    "provider_counts",
    "publish_due",
    "published",
    "recent_decisions",
    "reply",
    "report",
    "reported_ids",
    "review_of",
    "reviewable",
    "summary",
    "totals_differ",
    "why_not",
    "write",
]

seal(__name__)
