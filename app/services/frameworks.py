"""The council's framework, as commissioners run it: lots with their quality/price
weights, and which providers are approved or suspended on each lot (with a reason).
Ranking reads these live, so it follows each decision at once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.database import utcnow
from app.extensions import db
from app.models import (
    Category,
    Framework,
    FrameworkLot,
    FrameworkMembership,
    MembershipStatus,
    Provider,
    ProviderStatus,
    Service,
    ServiceStatus,
    User,
)
from app.models.frameworks import DEFAULT_REVIEW_MINIMUM, DEFAULT_REVIEW_WEIGHT, MAX_REVIEW_MINIMUM
from app.services import audit, notifications, team
from app.services.errors import Conflict, NotFound, ValidationError


def frameworks() -> list[Framework]:
    return list(db.session.execute(select(Framework).order_by(Framework.starts_on.desc(), Framework.id)).scalars())


def get_framework(framework_id: int) -> Framework:
    framework = db.session.get(Framework, framework_id)
    if framework is None:
        raise NotFound("No such framework")
    return framework


def get_lot(lot_id: int) -> FrameworkLot:
    lot = db.session.get(FrameworkLot, lot_id)
    if lot is None:
        raise NotFound("No such lot")
    return lot


def _name(text: str | None, field: str, what: str) -> str:
    name = " ".join((text or "").split())
    if not name:
        raise ValidationError({field: f"Enter the {what}'s name"})
    if len(name) > 160:
        raise ValidationError({field: "Name must be 160 characters or fewer"})
    return name


def _weights(quality: int | None, price: int | None) -> tuple[int, int]:
    errors = {}
    if quality is None or not 0 <= quality <= 100:
        errors["quality_weight"] = "Enter a quality weight between 0 and 100"
    if price is None or not 0 <= price <= 100:
        errors["price_weight"] = "Enter a price weight between 0 and 100"
    if not errors and quality + price != 100:
        errors["quality_weight"] = f"The quality and price weights must add up to 100. They add up to {quality + price}"
    if errors:
        raise ValidationError(errors)
    return quality, price


def _review_settings(weight: int | None, minimum: int | None) -> tuple[int, int]:
    errors = {}
    if weight is None or not 0 <= weight <= 100:
        errors["review_weight"] = "Enter a share of quality from reviews between 0 and 100"
    if minimum is None or not 0 <= minimum <= MAX_REVIEW_MINIMUM:
        errors["review_minimum"] = f"Enter a minimum number of reviews between 0 and {MAX_REVIEW_MINIMUM:,}"
    if errors:
        raise ValidationError(errors)
    return weight, minimum


def create_framework(actor: User, *, name: str, description: str, starts_on: dt.date | None, ends_on: dt.date | None) -> Framework:
    name = _name(name, "name", "framework")
    errors = {}
    if starts_on is None:
        errors["starts_on"] = "Enter the date the framework starts"
    if starts_on and ends_on and ends_on <= starts_on:
        errors["ends_on"] = "The end date must be after the start date"
    if db.session.execute(select(Framework.id).where(Framework.name == name)).first():
        errors["name"] = "There is already a framework with this name"
    if errors:
        raise ValidationError(errors)
    framework = Framework(name=name, description=(description or "").strip(), starts_on=starts_on, ends_on=ends_on)
    db.session.add(framework)
    db.session.flush()
    audit.record(actor, "framework.created", "framework", framework.id, after={"name": name, "starts_on": starts_on, "ends_on": ends_on})
    db.session.commit()
    return framework


def categories_without_lot(framework: Framework) -> list[Category]:
    used = {lot.category_id for lot in framework.lots}
    return [c for c in db.session.execute(select(Category).order_by(Category.position, Category.name)).scalars() if c.id not in used]


def create_lot(
    actor: User,
    framework: Framework,
    *,
    category_id: int | None,
    name: str,
    quality_weight: int | None,
    price_weight: int | None,
    review_weight: int | None = DEFAULT_REVIEW_WEIGHT,
    review_minimum: int | None = DEFAULT_REVIEW_MINIMUM,
) -> FrameworkLot:
    errors = {}
    category = db.session.get(Category, category_id) if category_id else None
    if category is None:
        errors["category_id"] = "Select the kind of care or support this lot covers"
    elif category.id in {lot.category_id for lot in framework.lots}:
        errors["category_id"] = "This framework already has a lot for that kind of care"
    try:
        name = _name(name or (category.name if category else ""), "name", "lot")
    except ValidationError as exc:
        errors.update(exc.errors)
    try:
        quality_weight, price_weight = _weights(quality_weight, price_weight)
    except ValidationError as exc:
        errors.update(exc.errors)
    try:
        review_weight, review_minimum = _review_settings(review_weight, review_minimum)
    except ValidationError as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationError(errors)
    lot = FrameworkLot(
        framework_id=framework.id,
        category_id=category.id,
        name=name,
        quality_weight=quality_weight,
        price_weight=price_weight,
        review_weight=review_weight,
        review_minimum=review_minimum,
    )
    db.session.add(lot)
    db.session.flush()
    audit.record(
        actor,
        "framework.lot_created",
        "framework_lot",
        lot.id,
        after={"name": name, "category": category.slug, **_settings(lot)},
    )
    db.session.commit()
    return lot


def _settings(lot: FrameworkLot) -> dict[str, int]:
    return {name: getattr(lot, name) for name in ("quality_weight", "price_weight", "review_weight", "review_minimum")}


def update_lot(
    actor: User,
    lot: FrameworkLot,
    *,
    name: str,
    quality_weight: int | None,
    price_weight: int | None,
    review_weight: int | None = None,
    review_minimum: int | None = None,
) -> FrameworkLot:
    """Rename a lot or change how it ranks (review settings left out: kept as they are)."""
    review_weight = lot.review_weight if review_weight is None else review_weight
    review_minimum = lot.review_minimum if review_minimum is None else review_minimum
    errors = {}
    try:
        name = _name(name, "name", "lot")
    except ValidationError as exc:
        errors.update(exc.errors)
    try:
        quality_weight, price_weight = _weights(quality_weight, price_weight)
    except ValidationError as exc:
        errors.update(exc.errors)
    try:
        review_weight, review_minimum = _review_settings(review_weight, review_minimum)
    except ValidationError as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationError(errors)
    after = {"quality_weight": quality_weight, "price_weight": price_weight}
    after |= {"review_weight": review_weight, "review_minimum": review_minimum}
    before = _settings(lot)
    if before != after:
        audit.record(actor, "framework.lot_weights_changed", "framework_lot", lot.id, before=before, after=after, note=lot.name)
        for name, value in after.items():
            setattr(lot, name, value)
    if lot.name != name:
        audit.record(actor, "framework.lot_renamed", "framework_lot", lot.id, before={"name": lot.name}, after={"name": name})
        lot.name = name
    db.session.commit()
    return lot


def memberships(lot: FrameworkLot) -> list[FrameworkMembership]:
    return list(
        db.session.execute(
            select(FrameworkMembership)
            .join(Provider)
            .where(FrameworkMembership.lot_id == lot.id)
            .order_by(FrameworkMembership.status, Provider.name)
        ).scalars()
    )


def candidates(lot: FrameworkLot) -> list[Provider]:
    """Verified providers with a listing in the lot's category, not yet on the lot."""
    on_lot = select(FrameworkMembership.provider_id).where(FrameworkMembership.lot_id == lot.id)
    return list(
        db.session.execute(
            select(Provider)
            .where(
                Provider.status == ProviderStatus.VERIFIED,
                Provider.id.not_in(on_lot),
                Provider.id.in_(
                    select(Service.provider_id).where(Service.category_id == lot.category_id, Service.status != ServiceStatus.WITHDRAWN)
                ),
            )
            .order_by(Provider.name)
        ).scalars()
    )


def get_membership(lot: FrameworkLot, membership_id: int) -> FrameworkMembership:
    membership = db.session.get(FrameworkMembership, membership_id)
    if membership is None or membership.lot_id != lot.id:
        raise NotFound("No such membership")
    return membership


def why_not_ranked(service: Service) -> str | None:
    """Why a listing has no framework rank, in words for its provider, or None if nothing
    stops it being ranked. Ranking takes published listings of verified providers
    approved on a lot for the listing's kind of care; the first thing missing is the reason."""
    provider = service.provider
    if provider.status is ProviderStatus.PENDING:
        return "Not ranked: the council has not verified your organisation yet. Your listings are ranked once it has."
    if provider.status is ProviderStatus.REJECTED:
        return "Not ranked: the council did not verify your organisation. Correct your details and ask to be checked again."
    if provider.status is ProviderStatus.SUSPENDED:
        return "Not ranked: the council has suspended your organisation, so none of its listings are shown or ranked."
    if service.status is ServiceStatus.DRAFT:
        return "Not ranked: this listing is a draft. It is ranked once you publish it."
    if service.status is ServiceStatus.WITHDRAWN:
        return "Not ranked: this listing is withdrawn."
    category = service.category
    lots = list(
        db.session.execute(select(FrameworkLot).where(FrameworkLot.category_id == service.category_id).order_by(FrameworkLot.id)).scalars()
    )
    if not lots:
        return f"Not ranked: the council's framework has no lot for {category.name.lower()}."
    memberships = list(
        db.session.execute(
            select(FrameworkMembership).where(
                FrameworkMembership.provider_id == provider.id, FrameworkMembership.lot_id.in_([lot.id for lot in lots])
            )
        ).scalars()
    )
    if not memberships:
        return (
            f"Not ranked: your organisation is not on the council's {lots[0].name} framework lot, "
            "so this listing is not compared with the providers on it."
        )
    if not any(m.is_approved for m in memberships):
        return f"Not ranked: the council has suspended your organisation on the {memberships[0].lot.name} framework lot."
    return None


def _tell(provider: Provider, subject: str, body: str) -> None:
    for member in team.members(provider):
        if member.user.active:
            notifications.notify(member.user, subject, body, link="/provider")


APPROVAL_REASON_MISSING = "Enter the reason for the approval, for example the tender reference"
REASON_TOO_LONG = "Reason must be 2,000 characters or fewer"


def approve(actor: User, lot: FrameworkLot, provider_id: int | None, reason: str | None) -> FrameworkMembership:
    """Put a provider on a lot, or lift its suspension there, with the reason (it goes in
    the audit trail and to the provider, like a suspension's)."""
    errors = {}
    provider = db.session.get(Provider, provider_id) if provider_id else None
    if provider is None:
        errors["provider_id"] = "Select a provider"
    elif provider.status is not ProviderStatus.VERIFIED:
        errors["provider_id"] = "Only a verified provider can be approved on the framework"
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = APPROVAL_REASON_MISSING
    elif len(reason) > 2000:
        errors["reason"] = REASON_TOO_LONG
    if errors:
        raise ValidationError(errors)
    membership = db.session.execute(
        select(FrameworkMembership).where(FrameworkMembership.lot_id == lot.id, FrameworkMembership.provider_id == provider.id)
    ).scalar_one_or_none()
    before = {"status": membership.status, "reason": membership.reason} if membership else None
    if membership is None:
        membership = FrameworkMembership(lot_id=lot.id, provider_id=provider.id)
        db.session.add(membership)
    elif membership.status is MembershipStatus.APPROVED:
        raise Conflict(f"{provider.name} is already approved on {lot.name}.")
    membership.status = MembershipStatus.APPROVED
    membership.reason = reason
    membership.decided_at = utcnow()
    db.session.flush()
    audit.record(
        actor,
        "framework.membership_approved",
        "framework_lot",
        lot.id,
        before=before,
        after={"provider": provider.name, "provider_id": provider.id, "status": MembershipStatus.APPROVED, "reason": reason},
    )
    _tell(
        provider,
        f"Approved on the {lot.name} framework lot",
        f"The council has approved {provider.name} on its {lot.name} framework lot. The reason given: {reason}",
    )
    db.session.commit()
    return membership


def suspend(actor: User, membership: FrameworkMembership, reason: str) -> FrameworkMembership:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Enter the reason for the suspension"})
    if len(reason) > 2000:
        raise ValidationError({"reason": REASON_TOO_LONG})
    if membership.status is MembershipStatus.SUSPENDED:
        raise Conflict("This provider is already suspended on this lot.")
    before = {"status": membership.status, "reason": membership.reason}
    membership.status = MembershipStatus.SUSPENDED
    membership.reason = reason
    membership.decided_at = utcnow()
    provider = membership.provider
    audit.record(
        actor,
        "framework.membership_suspended",
        "framework_lot",
        membership.lot_id,
        before=before,
        after={"provider": provider.name, "provider_id": provider.id, "status": MembershipStatus.SUSPENDED, "reason": reason},
    )
    _tell(
        provider,
        f"Suspended from the {membership.lot.name} framework lot",
        f"The council has suspended {provider.name} from its {membership.lot.name} framework lot. The reason given: {reason}",
    )
    db.session.commit()
    return membership
