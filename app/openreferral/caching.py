"""Answers as cacheable responses: a strong ETag (a hash of the exact body), Last-Modified
when the data has a date, and a 304 for a repeat that sends either back."""

from __future__ import annotations

import hashlib

from flask import jsonify, request, session

from app.services import openreferral

MAX_AGE_SECONDS = 60


def cacheable(answer: openreferral.Answer):
    response = jsonify(answer.body)
    response.set_etag(hashlib.sha256(response.get_data()).hexdigest())
    if answer.last_modified is not None:
        response.last_modified = answer.last_modified
    # Nothing here is personal, but a visitor who is signed in gets a fresh session cookie
    # with the answer, and a shared cache must never keep that.
    signed_in = session.modified or bool(dict(session))
    response.headers["Cache-Control"] = ("private" if signed_in else "public") + f", max-age={MAX_AGE_SECONDS}"
    # If-None-Match wins over If-Modified-Since when both are sent (RFC 9110, 13.2.2).
    return response.make_conditional(request)
