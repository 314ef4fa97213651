"""A booking in progress: what the person chose on the booking form, kept in their session
under the request's key until they confirm it (at most a few at once), and who they may
book for."""

from __future__ import annotations

import uuid

from flask import session
from flask_login import current_user

from app.citizen.forms import BookingForm
from app.models import FundingRoute
from app.services import accounts
from app.services.errors import NotFound

DRAFTS = "booking_drafts"


MAX_DRAFTS = 5


CARD_ROUTES = (FundingRoute.PREPAID_CARD, FundingRoute.SELF_FUNDER)


def people():
    people = accounts.people_user_acts_for(current_user)
    return people


def draft_from(form: BookingForm) -> dict:
    weekly = form.schedule.data == "weekly"
    return {
        "request_key": form.request_key.data,
        "citizen": form.citizen.data,
        "schedule": form.schedule.data,
        "first_date": form.first_date.data.isoformat(),
        "start_time": form.start_time.data,
        "units": form.units.data,
        "weekdays": list(form.weekdays.data or []) if weekly else [],
        "weeks": form.weeks.data if weekly else 1,
        "payment": form.payment.data,
        "outcome": (form.outcome.data or "").strip(),
        "message": form.message.data or "",
        "visit_address": form.visit_address.data or "",
        "contact_phone": form.contact_phone.data or "",
    }


def save_draft(service_id: int, draft: dict) -> None:
    drafts = dict(session.get(DRAFTS) or {})
    drafts[draft["request_key"]] = dict(draft, service_id=service_id)
    while len(drafts) > MAX_DRAFTS:
        drafts.pop(next(iter(drafts)))
    session[DRAFTS] = drafts


def load_draft(service_id: int, key: str | None) -> dict:
    draft = (session.get(DRAFTS) or {}).get(key or "")
    if not draft or draft.get("service_id") != service_id:
        raise NotFound("No booking in progress")
    return draft


def draft_citizen(draft: dict, people):
    citizen = next((p for p in people if str(p.id) == str(draft.get("citizen"))), None)
    if citizen is None:
        raise NotFound("Not someone you arrange care for")
    return citizen


def card_route(draft: dict) -> FundingRoute | None:
    """The way of paying by card a booking in progress chose, or None (a budget)."""
    method, _, value = (draft.get("payment") or "").partition(":")
    if method != "card":
        return None
    try:
        route = FundingRoute(value)
    except ValueError:
        raise NotFound("No such way to pay") from None
    if route not in CARD_ROUTES:
        raise NotFound("No such way to pay")
    return route


def renew_draft(service_id: int, draft: dict) -> dict:
    """The same booking in progress under a new request key."""
    forget_draft(draft)
    renewed = dict(draft, request_key=uuid.uuid4().hex)
    renewed.pop("service_id", None)
    save_draft(service_id, renewed)
    return renewed


def forget_draft(draft: dict) -> None:
    drafts = dict(session.get(DRAFTS) or {})
    drafts.pop(draft["request_key"], None)
    session[DRAFTS] = drafts
