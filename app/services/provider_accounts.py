"""Providers running their own organisation: signing up, the organisation's profile,
asking to be checked again after a rejection."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.database import utcnow
from app.extensions import db
from app.models import OrgRole, PostcodeDistrict, Provider, ProviderArea, ProviderStaff, ProviderStatus, Role, User
from app.services import accounts, audit, notifications, team
from app.services.errors import Conflict, ValidationError
from app.services.geo import MALFORMED_POSTCODE, parse_postcode
from app.services.text import clean_multiline, is_phone_number

CQC_ID_RE = re.compile(r"^1-[0-9]{9,11}$")
CQC_PROVIDER_ID_FORMAT = "Enter a CQC provider ID in the correct format, like 1-101634368"
CQC_LOCATION_ID_FORMAT = "Enter a CQC location ID in the correct format, like 1-1000012345"
CQC_LOCATION_TAKEN = "Another provider on the marketplace already has this CQC location ID"
RESUBMIT_LOCATION_TAKEN = (
    "Another provider on the marketplace now has your CQC location ID. Check it in your profile "
    "(change it, or remove it if CQC does not regulate you), then ask the council to check you again."
)
URL_RE = re.compile(r"^https?://[^\s/$.?#][^\s]*\.[^\s]+$", re.IGNORECASE)


def normalise_cqc_id(text: str | None) -> str | None:
    cleaned = "".join((text or "").split())
    return cleaned or None


def location_id_holder(location_id: str | None, *, exclude_provider: int | None = None) -> Provider | None:
    """The provider still in play (pending, verified or suspended) that has this CQC
    location id, if any. A rejected provider keeps the id it gave but does not hold it,
    so a sign-up the council turned down cannot block the real provider for ever."""
    if not location_id:
        return None
    query = select(Provider).where(Provider.cqc_location_id == location_id, Provider.status != ProviderStatus.REJECTED)
    if exclude_provider is not None:
        query = query.where(Provider.id != exclude_provider)
    return db.session.execute(query.order_by(Provider.id)).scalars().first()


def cqc_id_problems(provider_id: str | None, location_id: str | None, *, exclude_provider: int | None = None) -> dict[str, str]:
    """Format and uniqueness of CQC ids (a location id belongs to one provider in play)."""
    errors = {}
    if provider_id and not CQC_ID_RE.match(provider_id):
        errors["cqc_provider_id"] = CQC_PROVIDER_ID_FORMAT
    if location_id and not CQC_ID_RE.match(location_id):
        errors["cqc_location_id"] = CQC_LOCATION_ID_FORMAT
    if location_id and "cqc_location_id" not in errors:
        if location_id_holder(location_id, exclude_provider=exclude_provider) is not None:
            errors["cqc_location_id"] = CQC_LOCATION_TAKEN
    if location_id and not provider_id and "cqc_provider_id" not in errors:
        errors["cqc_provider_id"] = "Enter the CQC provider ID as well as the location ID"
    if provider_id and not location_id and "cqc_location_id" not in errors:
        errors["cqc_location_id"] = "Enter the CQC location ID as well as the provider ID"
    return errors


@dataclass
class ProfileInput:
    name: str = ""
    legal_name: str = ""
    description: str = ""
    email: str = ""
    phone: str = ""
    website: str = ""
    address_line1: str = ""
    address_line2: str = ""
    town: str = ""
    base_postcode: str = ""
    areas: list[str] = field(default_factory=list)
    service_radius_miles: int | None = None
    cqc_provider_id: str | None = None
    cqc_location_id: str | None = None


def _clean(text: str | None, limit: int) -> str:
    return " ".join((text or "").split())[:limit]


def _validated(data: ProfileInput, *, provider: Provider | None, check_cqc: bool) -> dict:
    errors: dict[str, str] = {}
    values: dict = {}
    values["name"] = _clean(data.name, 161)
    if not values["name"]:
        errors["name"] = "Enter your organisation's name"
    elif len(values["name"]) > 160:
        errors["name"] = "Organisation name must be 160 characters or fewer"
    values["legal_name"] = _clean(data.legal_name, 200) or None
    values["description"] = clean_multiline(data.description)
    if len(values["description"]) > 5000:
        errors["description"] = "Description must be 5,000 characters or fewer"
    email = (data.email or "").strip()
    if email:
        try:
            values["email"] = accounts.normalise_email(email)
        except ValidationError:
            errors["email"] = "Enter an email address in the correct format, like info@example.org"
    else:
        values["email"] = None
    phone = (data.phone or "").strip()
    if phone and not is_phone_number(phone):
        errors["phone"] = "Enter a telephone number, like 01733 123456"
    values["phone"] = phone or None
    website = (data.website or "").strip()
    if website and not website.lower().startswith(("http://", "https://")):
        website = "https://" + website
    if website and (len(website) > 300 or not URL_RE.match(website)):
        errors["website"] = "Enter a website address, like https://www.example.org"
    values["website"] = website or None
    _validate_place(data, values, errors)
    if check_cqc:
        values["cqc_provider_id"] = normalise_cqc_id(data.cqc_provider_id)
        values["cqc_location_id"] = normalise_cqc_id(data.cqc_location_id)
        errors.update(
            cqc_id_problems(values["cqc_provider_id"], values["cqc_location_id"], exclude_provider=provider.id if provider else None)
        )
    if errors:
        raise ValidationError(errors)
    return values


def _validate_place(data: ProfileInput, values: dict, errors: dict[str, str]) -> None:
    """The address, base postcode, areas covered and service radius, into ``values``; their
    problems into ``errors``."""
    values["address_line1"] = _clean(data.address_line1, 200) or None
    values["address_line2"] = _clean(data.address_line2, 200) or None
    values["town"] = _clean(data.town, 80) or None
    if data.base_postcode and data.base_postcode.strip():
        try:
            postcode = parse_postcode(data.base_postcode)
        except ValidationError:
            errors["base_postcode"] = MALFORMED_POSTCODE
        else:
            if db.session.get(PostcodeDistrict, postcode.outward) is None:
                errors["base_postcode"] = "We do not cover that postcode. Enter a postcode in or near the council's area"
            values["base_postcode"] = str(postcode)
            values["base_district"] = postcode.outward
    else:
        errors["base_postcode"] = "Enter your organisation's postcode"
    known = set(db.session.execute(select(PostcodeDistrict.outward_code)).scalars())
    areas = sorted({a.strip().upper() for a in data.areas if a and a.strip()})
    unknown = [a for a in areas if a not in known]
    if unknown:
        errors["areas"] = f"We do not know these areas: {', '.join(unknown)}"
    values["areas"] = areas
    radius = data.service_radius_miles
    if radius is not None and not 1 <= radius <= 100:
        errors["service_radius_miles"] = "Enter a distance between 1 and 100 miles"
    values["service_radius_miles"] = radius


def unique_slug(name: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:100] or "provider"
    slug, n = base, 1
    while db.session.execute(select(Provider.id).where(Provider.slug == slug)).first() is not None:
        n += 1
        slug = f"{base}-{n}"
    return slug


def sign_up(*, your_name: str, your_email: str, password: str, profile: ProfileInput, ip_address: str = "") -> tuple[User, Provider]:
    """A provider organisation joins: an owner account and a pending organisation.

    A double-submitted form (or two organisations racing for one CQC location id or
    name) is settled by the database's unique constraints: the loser gets the usual form
    errors, and a clash of the generated web address (slug) is simply tried again."""
    for _attempt in range(3):
        try:
            return _sign_up_once(your_name=your_name, your_email=your_email, password=password, profile=profile, ip_address=ip_address)
        except _SlugTaken:
            continue
    raise ValidationError({"name": "We could not save your organisation just now. Try again."})


class _SlugTaken(Exception):
    """Another sign-up took the same web address between our check and our insert."""


def _sign_up_once(*, your_name: str, your_email: str, password: str, profile: ProfileInput, ip_address: str) -> tuple[User, Provider]:
    errors: dict[str, str] = {}
    try:
        values = _validated(profile, provider=None, check_cqc=True)
    except ValidationError as exc:
        errors.update(exc.errors)
        values = None
    try:
        user = accounts.new_user(email=your_email, name=your_name, password=password, role=Role.PROVIDER)
    except ValidationError as exc:
        errors.update({("your_" + k if k in ("email", "name") else k): v for k, v in exc.errors.items()})
        user = None
    if errors:
        db.session.rollback()
        raise ValidationError(errors)
    areas = values.pop("areas")
    slug = unique_slug(values["name"])
    provider = Provider(slug=slug, status=ProviderStatus.PENDING, **values)
    provider.areas = [ProviderArea(outward_code=code) for code in areas]
    db.session.add(provider)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        _explain_clash(your_email, values.get("cqc_location_id"))
        if db.session.execute(select(Provider.id).where(Provider.slug == slug)).first() is not None:
            raise _SlugTaken() from None
        raise
    db.session.add(ProviderStaff(provider_id=provider.id, user_id=user.id, org_role=OrgRole.OWNER))
    audit.record(user, "account.registered", "user", user.id, after={"role": user.role, "email": user.email}, ip_address=ip_address)
    audit.record(user, "provider.signed_up", "provider", provider.id, after=_snapshot(provider), ip_address=ip_address)
    notifications.notify(
        user,
        "We have your organisation's details",
        f"Thank you for signing up {provider.name}. The council will check your details "
        "(including your CQC registration, if you have one) before your listings appear on the marketplace. "
        "You can set up your profile and listings in the meantime.",
        link="/provider",
    )
    db.session.commit()
    return user, provider


def _explain_clash(email: str | None, location_id: str | None) -> None:
    """After a unique-constraint clash (and its rollback): the form error it stands for,
    if another request took the email address or the CQC location id meanwhile."""
    errors = {}
    if email and accounts.user_by_email(email) is not None:
        errors["your_email"] = accounts.EMAIL_TAKEN
    if location_id_holder(location_id) is not None:
        errors["cqc_location_id"] = CQC_LOCATION_TAKEN
    if errors:
        raise ValidationError(errors)


PROFILE_FIELDS = (
    "name",
    "legal_name",
    "description",
    "email",
    "phone",
    "website",
    "address_line1",
    "address_line2",
    "town",
    "base_postcode",
    "base_district",
    "service_radius_miles",
    "cqc_provider_id",
    "cqc_location_id",
)


def _snapshot(provider: Provider) -> dict:
    data = {name: getattr(provider, name) for name in PROFILE_FIELDS}
    data["areas"] = provider.area_codes
    return data


def cqc_ids_editable(provider: Provider) -> bool:
    """CQC ids can be changed until the council has verified them."""
    return provider.status in (ProviderStatus.PENDING, ProviderStatus.REJECTED)


def profile_input(provider: Provider) -> ProfileInput:
    """The provider's current profile, as the edit form starts it."""
    text = {
        name: getattr(provider, name) or ""
        for name in (
            "name",
            "legal_name",
            "description",
            "email",
            "phone",
            "website",
            "address_line1",
            "address_line2",
            "town",
            "base_postcode",
        )
    }
    return ProfileInput(
        **text,
        areas=provider.area_codes,
        service_radius_miles=provider.service_radius_miles,
        cqc_provider_id=provider.cqc_provider_id,
        cqc_location_id=provider.cqc_location_id,
    )


def update_profile(actor: User, provider: Provider, data: ProfileInput) -> Provider:
    team.require(team.require_member(actor, provider), "edit_profile")
    check_cqc = cqc_ids_editable(provider)
    values = _validated(data, provider=provider, check_cqc=check_cqc)
    before = _snapshot(provider)
    areas = values.pop("areas")
    for name, value in values.items():
        setattr(provider, name, value)
    if provider.area_codes != areas:
        provider.areas = [ProviderArea(outward_code=code) for code in areas]
        provider.updated_at = utcnow()  # the areas are part of what the provider publishes (feeds date it by this)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        _explain_clash(None, values.get("cqc_location_id"))
        raise
    old, new = audit.changes(before, _snapshot(provider))
    if new:
        audit.record(actor, "provider.profile_updated", "provider", provider.id, before=old, after=new)
    db.session.commit()
    return provider


def resubmit(actor: User, provider: Provider) -> Provider:
    """After a rejection, the provider fixes its details and asks to be checked again."""
    team.require(team.require_member(actor, provider), "edit_profile")
    if provider.status is not ProviderStatus.REJECTED:
        raise Conflict("Only a rejected organisation can ask to be checked again.")
    if location_id_holder(provider.cqc_location_id, exclude_provider=provider.id) is not None:
        raise Conflict(RESUBMIT_LOCATION_TAKEN)
    before = {"status": provider.status, "status_reason": provider.status_reason}
    provider.status = ProviderStatus.PENDING
    try:
        db.session.flush()
    except IntegrityError:  # another provider took the id meanwhile
        db.session.rollback()
        raise Conflict(RESUBMIT_LOCATION_TAKEN) from None
    audit.record(actor, "provider.resubmitted", "provider", provider.id, before=before, after={"status": provider.status})
    db.session.commit()
    return provider


def districts() -> list[PostcodeDistrict]:
    return list(db.session.execute(select(PostcodeDistrict).order_by(PostcodeDistrict.post_town, PostcodeDistrict.outward_code)).scalars())
