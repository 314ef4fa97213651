"""The audit trail: record who did what, and read it back.

``record`` adds an event to the current unit of work, so the event and the change it
describes are committed together (or not at all). It never commits by itself.
Events are append-only: there is no function to change or delete one, the model refuses
it, and the database refuses it (triggers).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, User
from app.services.pagination import Page, paginate
from app.uk_time import UK

PER_PAGE = 50

# The actions this part of the product records, with a description for the filter.
# Other parts add their own; any string of up to 60 characters is accepted.
ACTIONS = {
    "sign_in.failure_burst": "Repeated failed sign-ins for one account",
    "sign_in.failure_burst_address": "Repeated failed sign-ins from one address",
    "sign_in.unlock_link_sent": "Sign-in paused by failures from many addresses: owner emailed a link",
    "account.registered": "Account created",
    "account.password_changed": "Password changed",
    "account.email_changed": "Email address changed",
    "account.email_change_requested": "New email address asked for (waiting for its link)",
    "account.email_change_cancelled": "New email address cancelled before it was confirmed",
    "account.email_change_refused": "New email address refused: another account has it",
    "account.password_reset": "Password reset by email link",
    "account.signed_out_everywhere": "Signed out on every device",
    "account.two_step_enabled": "Two-step verification turned on",
    "account.two_step_disabled": "Two-step verification turned off",
    "account.recovery_code_used": "Recovery code used to sign in",
    "calendar.feed_created": "Calendar link made (any earlier one stops working)",
    "calendar.feed_revoked": "Calendar link turned off or replaced",
    "account.role_changed": "Role changed",
    "account.deactivated": "Account deactivated",
    "account.reactivated": "Account reactivated",
    "account.created_by_admin": "Council account created",
    "representation.invited": "Representative invited",
    "representation.started": "Representative started acting for a citizen",
    "representation.ended": "Representative stopped acting for a citizen",
    "team.invited": "Provider team member invited",
    "team.claim_invited": "Provider nobody had signed up for invited to set up its account",
    "team.joined": "Provider team member joined",
    "team.role_changed": "Provider team member's role changed",
    "team.removed": "Provider team member removed",
    "provider.signed_up": "Provider signed up",
    "provider.profile_updated": "Provider profile updated",
    "provider.resubmitted": "Provider asked to be checked again",
    "provider.verified": "Provider verified",
    "provider.rejected": "Provider rejected",
    "provider.suspended": "Provider suspended",
    "provider.reinstated": "Provider reinstated",
    "provider.cqc_ratings_imported": "Provider's CQC ratings updated from CQC's data",
    "provider.cqc_deregistered": "Provider's CQC location deregistered, says CQC's data",
    "cqc.file_imported": "CQC data file imported",
    "market_position.saved": "Market Position Statement draft saved",
    "market_position.published": "Market Position Statement published",
    "reference_rate.set": "Reference rate set",
    "visit.exception_decided": "Visit outside the tolerance decided",
    "visit.dispute_settled": "Disputed visit settled",
    "payment_run.prepared": "Payment run prepared",
    "payment_run.approved": "Payment run approved",
    "payment_run.cancelled": "Payment run cancelled",
    "service.created": "Listing created",
    "service.updated": "Listing updated",
    "service.price_changed": "Listing price changed",
    "service.published": "Listing published",
    "service.withdrawn": "Listing withdrawn",
    "service.supports_from_cqc": "Who a listing supports filled in from CQC",
    "framework.created": "Framework created",
    "framework.lot_created": "Framework lot created",
    "framework.lot_weights_changed": "Framework lot weights changed",
    "framework.lot_renamed": "Framework lot renamed",
    "framework.membership_approved": "Provider approved on a lot",
    "framework.membership_suspended": "Provider suspended on a lot",
    "council.settings_changed": "Council settings changed",
    "budget.created": "Personal budget set up",
    "budget.isf_moved": "Individual Service Fund moved to another provider",
    "budgets.funded": "Personal budgets funded for a 4-week period",
    "budget.money_in_reversed": "Payment into a personal budget reversed",
    "payments.card_removed": "Saved card removed by its owner",
    "payments.refund_requested": "Card refund asked for",
    "payments.refunded": "Card refund made",
    "payments.refund_failed": "Card refund refused by the card processor",
    "job.run_requested": "Scheduled job asked to run now",
    "payments.clearing_refund_retried": "Refused card refund asked for again from card clearing",
    "payments.clearing_settled": "Money in card clearing settled another way",
}


def actor_label(actor: User | None) -> str:
    if actor is None:
        return "System"
    return f"{actor.name} <{actor.email}> ({actor.role.value})"


def _plain(value: Any) -> Any:
    """Make before/after values JSON-friendly: enums by value, dates in ISO form."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    return value


def record(
    actor: User | None,
    action: str,
    target_type: str,
    target_id: Any,
    before: dict | None = None,
    after: dict | None = None,
    note: str | None = None,
    *,
    ip_address: str | None = None,
    at: dt.datetime | None = None,
) -> AuditEvent:
    """Add an audit event to the current unit of work (committed with it). ``at``: when it
    happened, if not now (history made "as of" a past moment, like the demo's)."""
    if not action or len(action) > 60:
        raise ValueError("an audit action is a short dotted name, like 'provider.verified'")
    event = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        actor_label=actor_label(actor),
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        before=_plain(before) if before is not None else None,
        after=_plain(after) if after is not None else None,
        note=note,
        ip_address=ip_address,
    )
    if at is not None:
        event.occurred_at = at
    db.session.add(event)
    return event


def changes(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the keys whose values differ, as (before, after)."""
    keys = [k for k in after if _plain(before.get(k)) != _plain(after.get(k))]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None
    actor: str | None = None  # part of the actor's name or email
    target_type: str | None = None
    target_id: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def search(filters: AuditFilter, page: int = 1, per_page: int = PER_PAGE) -> Page[AuditEvent]:
    """Events matching the filters, newest first."""
    query = select(AuditEvent)
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    if filters.actor:
        query = query.where(AuditEvent.actor_label.ilike(f"%{_escape_like(filters.actor)}%", escape="\\"))
    if filters.target_type:
        query = query.where(AuditEvent.target_type == filters.target_type)
    if filters.target_id:
        query = query.where(AuditEvent.target_id == filters.target_id)
    if filters.date_from:
        query = query.where(AuditEvent.occurred_at >= _start_of(filters.date_from))
    if filters.date_to:
        query = query.where(AuditEvent.occurred_at < _start_of(filters.date_to + dt.timedelta(days=1)))
    return paginate(query.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc()), page, per_page)


def target_types() -> list[str]:
    return list(db.session.execute(select(AuditEvent.target_type).distinct().order_by(AuditEvent.target_type)).scalars())


def recorded_actions() -> list[str]:
    """Every action in the trail or known to the product, for the filter."""
    found = set(db.session.execute(select(AuditEvent.action).distinct()).scalars())
    return sorted(found | set(ACTIONS))


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=UK).astimezone(dt.UTC)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
