"""POST /webhooks/stripe: verify the signature on the raw body, record the event once,
apply it, answer at once. Nothing here asks Stripe anything."""

from __future__ import annotations

from flask import current_app, jsonify, request

from app.errors import json_error
from app.extensions import csrf
from app.services import card_payments
from app.webhooks import bp

MAX_BODY = 512 * 1024  # Stripe events are a few kilobytes


@bp.post("/stripe")
@csrf.exempt
def stripe_webhook():
    if not card_payments.is_configured() or not current_app.config.get("STRIPE_WEBHOOK_SECRET"):
        return json_error(503, "Service unavailable", "Card payments are not configured.")
    if (request.content_length or 0) > MAX_BODY:
        return json_error(413, "Payload too large")
    payload = request.get_data(cache=False, as_text=False)
    try:
        result = card_payments.handle_webhook(payload, request.headers.get("Stripe-Signature"))
    except card_payments.WebhookRejected as exc:
        return json_error(400, "Bad request", str(exc))
    return jsonify({"received": True, "event": result.event_id, "duplicate": result.duplicate, "outcome": result.outcome})
