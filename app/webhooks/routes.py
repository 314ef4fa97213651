"""POST /webhooks/stripe: verify the signature on the raw body, record the event once,
apply it, answer at once. Nothing here asks Stripe anything."""

from __future__ import annotations

from flask import current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from app.errors import json_error
from app.extensions import csrf
from app.services import card_payments
from app.webhooks import bp

MAX_BODY = 512 * 1024  # Stripe events are a few kilobytes


@bp.url_value_preprocessor
def _bound_the_body(endpoint, values):
    """Limit what any webhook request may send before anything reads its body: URL value
    preprocessors run before every before_request function (the app's input guards look at
    ``request.form``, which opens the body stream). The limit holds for the body as it is
    read, so a chunked request (no Content-Length) cannot stream more than this either.
    (One byte more than we accept is read, so a body over the limit can be told from one
    exactly at it: the stream stops at the limit without saying whether more was sent.)"""
    request.max_content_length = MAX_BODY + 1


def _too_large():
    return json_error(413, "Payload too large", f"A Stripe event is at most {MAX_BODY // 1024} KB.")


@bp.post("/stripe")
@csrf.exempt
def stripe_webhook():
    if not card_payments.is_configured() or not current_app.config.get("STRIPE_WEBHOOK_SECRET"):
        return json_error(503, "Service unavailable", "Card payments are not configured.")
    if (request.content_length or 0) > MAX_BODY:
        return _too_large()
    try:
        payload = request.get_data(cache=False, as_text=False)
    except RequestEntityTooLarge:
        return _too_large()
    if len(payload) > MAX_BODY:
        return _too_large()
    try:
        result = card_payments.handle_webhook(payload, request.headers.get("Stripe-Signature"))
    except card_payments.WebhookRejected as exc:
        return json_error(400, "Bad request", str(exc))
    return jsonify({"received": True, "event": result.event_id, "duplicate": result.duplicate, "outcome": result.outcome})
