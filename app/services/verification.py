"""Commissioners checking providers: the queue of pending providers, verify (checking
the CQC ids), reject with a reason, suspend and reinstate."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Provider, ProviderStatus, User
from app.services import audit, notifications, team
from app.services.errors import InvalidTransition, NotFound, ValidationError
from app.services.pagination import Page, paginate
from app.services.provider_accounts import CQC_LOCATION_TAKEN, cqc_id_problems, location_id_holder, normalise_cqc_id


def get_provider(provider_id: int) -> Provider:
    provider = db.session.get(Provider, provider_id)
    if provider is None:
        raise NotFound("No such provider")
    return provider


def providers(status: ProviderStatus | None = None, text: str | None = None, page: int = 1) -> Page[Provider]:
    query = select(Provider)
    if status is not None:
        query = query.where(Provider.status == status)
    if text:
        query = query.where(func.lower(Provider.name).like(f"%{text.strip().lower()}%"))
    # The queue is oldest first; everything else by name.
    order = (Provider.created_at, Provider.id) if status is ProviderStatus.PENDING else (Provider.name, Provider.id)
    return paginate(query.order_by(*order), page, 25)


def counts() -> dict[ProviderStatus, int]:
    rows = dict(db.session.execute(select(Provider.status, func.count(Provider.id)).group_by(Provider.status)).all())
    return {status: rows.get(status, 0) for status in ProviderStatus}


def _tell_team(provider: Provider, subject: str, body: str) -> None:
    for member in team.members(provider):
        if member.user.active:
            notifications.notify(member.user, subject, body, link="/provider")


def _reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Enter the reason, so the provider knows what to do"})
    if len(reason) > 2000:
        raise ValidationError({"reason": "Reason must be 2,000 characters or fewer"})
    return reason


def verify(
    actor: User,
    provider: Provider,
    *,
    regulated: bool,
    cqc_provider_id: str | None,
    cqc_location_id: str | None,
    now: dt.datetime | None = None,
) -> Provider:
    """Verify a pending provider after checking its CQC ids (format, and that no other
    provider already uses the location id). Not regulated: the ids are cleared. ``now``:
    when, if not now (history made as of a past moment)."""
    if provider.status is not ProviderStatus.PENDING:
        raise InvalidTransition(f"{provider.name} is {provider.status.label.lower()}, not waiting to be checked.")
    provider_id = normalise_cqc_id(cqc_provider_id) if regulated else None
    location_id = normalise_cqc_id(cqc_location_id) if regulated else None
    if regulated:
        errors = cqc_id_problems(provider_id, location_id, exclude_provider=provider.id)
        if errors.get("cqc_location_id") == CQC_LOCATION_TAKEN:
            errors["cqc_location_id"] = _taken_by(location_id_holder(location_id, exclude_provider=provider.id))
        if not provider_id and "cqc_provider_id" not in errors:
            errors["cqc_provider_id"] = "Enter the CQC provider ID"
        if not location_id and "cqc_location_id" not in errors:
            errors["cqc_location_id"] = "Enter the CQC location ID"
        if errors:
            raise ValidationError(errors)
    before = {"status": provider.status, "cqc_provider_id": provider.cqc_provider_id, "cqc_location_id": provider.cqc_location_id}
    provider.cqc_provider_id = provider_id
    provider.cqc_location_id = location_id
    provider.status = ProviderStatus.VERIFIED
    provider.status_reason = None
    if now is not None:
        provider.updated_at = now
    audit.record(
        actor,
        "provider.verified",
        "provider",
        provider.id,
        before=before,
        after={"status": provider.status, "cqc_provider_id": provider_id, "cqc_location_id": location_id},
        note=None if regulated else "Not regulated by CQC",
        at=now,
    )
    _tell_team(
        provider,
        f"{provider.name} has been verified",
        "The council has verified your organisation. Your published listings now appear on the marketplace.",
    )
    try:
        db.session.commit()
    except IntegrityError:  # another provider took the location id meanwhile
        db.session.rollback()
        holder = location_id_holder(location_id, exclude_provider=provider.id)
        if holder is None:
            raise
        raise ValidationError({"cqc_location_id": _taken_by(holder)}) from None
    return provider


def _taken_by(holder: Provider | None) -> str:
    if holder is None:
        return CQC_LOCATION_TAKEN
    return (
        f"{holder.name} ({holder.status.label.lower()}) already has this CQC location ID. "
        "If it is not theirs, reject that provider or correct its ID first"
    )


def same_location_id(provider: Provider) -> list[Provider]:
    """Other providers that gave the same CQC location id as ``provider`` (they can only be
    ones the council rejected, or the id would be refused): a commissioner verifying a
    duplicate is shown them, with the reasons they were turned down."""
    if not provider.cqc_location_id:
        return []
    return list(
        db.session.execute(
            select(Provider).where(Provider.cqc_location_id == provider.cqc_location_id, Provider.id != provider.id).order_by(Provider.id)
        ).scalars()
    )


def reject(actor: User, provider: Provider, reason: str) -> Provider:
    if provider.status is not ProviderStatus.PENDING:
        raise InvalidTransition(f"{provider.name} is {provider.status.label.lower()}, not waiting to be checked.")
    reason = _reason(reason)
    before = {"status": provider.status}
    provider.status = ProviderStatus.REJECTED
    provider.status_reason = reason
    audit.record(
        actor, "provider.rejected", "provider", provider.id, before=before, after={"status": provider.status, "status_reason": reason}
    )
    _tell_team(
        provider,
        f"{provider.name} was not verified",
        f"The council did not verify your organisation. The reason given: {reason}\n\n"
        "You can correct your details and ask the council to check again.",
    )
    db.session.commit()
    return provider


def suspend(actor: User, provider: Provider, reason: str, *, now: dt.datetime | None = None) -> Provider:
    """Suspend a verified provider; ``now``: when, if not now (history made as of a past moment)."""
    if provider.status is not ProviderStatus.VERIFIED:
        raise InvalidTransition(f"Only a verified provider can be suspended; {provider.name} is {provider.status.label.lower()}.")
    reason = _reason(reason)
    provider.status = ProviderStatus.SUSPENDED
    provider.status_reason = reason
    if now is not None:
        provider.updated_at = now
    audit.record(
        actor,
        "provider.suspended",
        "provider",
        provider.id,
        before={"status": ProviderStatus.VERIFIED},
        after={"status": provider.status, "status_reason": reason},
        at=now,
    )
    _tell_team(
        provider,
        f"{provider.name} has been suspended",
        f"The council has suspended your organisation, so your listings are not shown. The reason given: {reason}",
    )
    db.session.commit()
    return provider


def reinstate(actor: User, provider: Provider, note: str | None = None) -> Provider:
    if provider.status is not ProviderStatus.SUSPENDED:
        raise InvalidTransition(f"Only a suspended provider can be reinstated; {provider.name} is {provider.status.label.lower()}.")
    before = {"status": provider.status, "status_reason": provider.status_reason}
    provider.status = ProviderStatus.VERIFIED
    provider.status_reason = None
    audit.record(
        actor,
        "provider.reinstated",
        "provider",
        provider.id,
        before=before,
        after={"status": provider.status},
        note=(note or "").strip() or None,
    )
    _tell_team(
        provider,
        f"{provider.name} has been reinstated",
        "The council has lifted your suspension. Your published listings appear on the marketplace again.",
    )
    db.session.commit()
    return provider
