"""The random public ids of our card records (cards, set-ups, payments, refunds): shown in
addresses and sent to Stripe, and, for a payment, part of every idempotency key, which
keeps keys unique across databases that share one Stripe account."""

from __future__ import annotations

import secrets


def new_public_id() -> str:
    return secrets.token_urlsafe(12)
