"""The Open Referral UK feed (HSDS 3.0, UK profile) at /openreferral: read-only and open by
design. No key and no sign-in; any web page may read it (``Access-Control-Allow-Origin: *``
on every answer, errors, 304s and preflights too); each address may ask RATE_LIMIT times a
minute; answers carry an ETag and, where the data has one, Last-Modified, and a repeat
asking with either gets a 304."""

from __future__ import annotations

from flask import Blueprint, current_app, request
from flask_limiter.util import get_remote_address

from app.extensions import limiter

bp = Blueprint("openreferral", __name__, url_prefix="/openreferral")

RATE_LIMIT = "120 per minute"
EXPOSED_HEADERS = "ETag, Last-Modified, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset"
PREFLIGHT_HEADERS = "Accept, Cache-Control, If-Modified-Since, If-None-Match"


def rate_limit() -> str:
    """Per address; OPENREFERRAL_RATE_LIMIT overrides it (read on each request)."""
    return current_app.config.get("OPENREFERRAL_RATE_LIMIT", RATE_LIMIT)


# One count per address for the whole feed, not one per resource.
limiter.shared_limit(rate_limit, scope="openreferral", key_func=get_remote_address)(bp)


def _in_feed() -> bool:
    return request.path == bp.url_prefix or request.path.startswith(bp.url_prefix + "/")


@bp.after_app_request
def _open_to_every_origin(response):
    # An app-wide hook, so that a 404 or 405 for an address under the feed, which no view of
    # the blueprint answers, is readable by other sites too.
    if not _in_feed():
        return response
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = PREFLIGHT_HEADERS
        response.headers["Access-Control-Max-Age"] = "86400"
    return response
