"""The audit trail as people read it: each change as "field: before → after", with names
for ids, pounds for pence and dates for dates. The CSV download keeps the raw values."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from app.formatting import format_date, format_datetime, format_pence
from app.models import AuditEvent
from app.services import accounts, catalogue

LABELS = {
    "citizen_id": "Citizen",
    "user_id": "Account",
    "provider_id": "Provider",
    "isf_provider_id": "Provider holding the fund",
    "category_id": "Type of support",
    "type": "Type of budget",
    "amount_per_period_pence": "Amount every 4 weeks",
    "amount_pence": "Amount",
    "moved_pence": "Moved with the fund",
    "total_pence": "Total",
    "price_pence": "Price",
    "price_unit": "Priced per",
    "min_units": "Fewest units per visit",
    "starts_on": "Starts",
    "ends_on": "Ends",
    "period_start": "Period starting",
    "budgets_funded": "Budgets funded",
    "already_funded": "Already funded",
    "outcomes": "Support plan outcomes",
    "transaction_id": "Ledger transaction",
    "reversal_id": "Reversing transaction",
    "memo": "Description",
    "org_role": "Team role",
    "accepts_personal_budget": "Takes personal budgets",
    "accepts_prepaid_card": "Takes council prepaid cards",
    "accepts_self_funder": "Takes people paying for themselves",
    "availability_note": "Availability",
    "cqc_provider_id": "CQC provider ID",
    "cqc_location_id": "CQC location ID",
    "service_radius_miles": "Service radius (miles)",
    "base_postcode": "Postcode",
    "base_district": "Postcode district",
    "address_line1": "Address line 1",
    "address_line2": "Address line 2",
    "legal_name": "Legal name",
    "status_reason": "Reason",
    "cancellation_notice_hours": "Free cancellation notice (hours)",
    "request_expiry_hours": "Time to answer a booking request (hours)",
    "contact_email": "Contact email",
    "contact_phone": "Contact phone",
    "quality_weight": "Quality weight",
    "price_weight": "Price weight",
    "review_weight": "Share of quality from reviews (%)",
    "review_minimum": "Minimum number of reviews",
    "by": "Run by",
}
USER_REFERENCES = {"citizen_id", "user_id"}
PROVIDER_REFERENCES = {"provider_id", "isf_provider_id"}
NOTHING = "none"
CODE = re.compile(r"[a-z]+(_[a-z]+)+")


@dataclass(frozen=True)
class Change:
    """One field of an audit record: ``before`` or ``after`` is None when it was not recorded
    (a record of something created has only ``after``)."""

    field: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class _Names:
    users: dict[int, str]
    providers: dict[int, str]
    categories: dict[int, str]


def changes_by_event(events: list[AuditEvent]) -> dict[int, list[Change]]:
    """{event id: its changes, in words}, looking up every name the page needs at once."""
    names = _names_for(events)
    return {event.id: changes_of(event, names) for event in events}


def changes_of(event: AuditEvent, names: _Names) -> list[Change]:
    before, after = event.before or {}, event.after or {}
    keys = list(dict.fromkeys([*before, *after]))
    return [
        Change(
            LABELS.get(key, key.replace("_", " ").capitalize()),
            _describe(key, before[key], names) if key in before else None,
            _describe(key, after[key], names) if key in after else None,
        )
        for key in keys
    ]


def _names_for(events: list[AuditEvent]) -> _Names:
    ids: dict[str, set[int]] = {"user": set(), "provider": set(), "category": set()}
    for event in events:
        for values in (event.before or {}, event.after or {}):
            for key, value in values.items():
                if not isinstance(value, int) or isinstance(value, bool):
                    continue
                if key in USER_REFERENCES:
                    ids["user"].add(value)
                elif key in PROVIDER_REFERENCES:
                    ids["provider"].add(value)
                elif key == "category_id":
                    ids["category"].add(value)
    return _Names(
        {u.id: u.name for u in accounts.users_by_id(ids["user"]).values()},
        {p.id: p.name for p in catalogue.providers_by_id(ids["provider"]).values()},
        {c.id: c.name for c in catalogue.categories() if c.id in ids["category"]},
    )


def _describe(key: str, value, names: _Names) -> str:
    if value is None or value == "" or value == []:
        return NOTHING
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int) and key in USER_REFERENCES:
        return names.users.get(value, f"account {value}")
    if isinstance(value, int) and key in PROVIDER_REFERENCES:
        return names.providers.get(value, f"provider {value}")
    if isinstance(value, int) and key == "category_id":
        return names.categories.get(value, f"type of support {value}")
    if isinstance(value, int) and key.endswith("_pence"):
        return format_pence(value)
    if isinstance(value, list):
        return ", ".join(_describe(key, item, names) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{k.replace('_', ' ')}: {_describe(k, v, names)}" for k, v in value.items())
    if isinstance(value, str):
        if CODE.fullmatch(value):  # a stored choice, like "managed_account"
            return value.replace("_", " ")
        return _moment(value) or value
    return str(value)


def _moment(text: str) -> str | None:
    """A date or a moment written as ISO text (how the trail stores them), in words."""
    if len(text) == 10:
        try:
            return format_date(dt.date.fromisoformat(text))
        except ValueError:
            return None
    if len(text) >= 19 and text[4] == "-" and text[10] == "T":
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            return None
        return format_datetime(moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC))
    return None
