"""The council's own settings: name, area (postcode districts) and contact details.
Until a commissioner saves them, the name comes from COUNCIL_NAME."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.models import CouncilDistrict, CouncilSettings, PostcodeDistrict, User
from app.services import accounts, audit
from app.services.errors import ValidationError
from app.services.geo import is_outward_code


@dataclass(frozen=True)
class Council:
    name: str
    contact_email: str
    contact_phone: str
    address: str
    website: str
    districts: tuple[str, ...]
    cancellation_notice_hours: int

    @classmethod
    def from_config(cls, config, districts: tuple[str, ...] = ()) -> Council:
        """The council as configuration describes it: before a commissioner saves the
        settings, and when the database cannot be read (an error page still needs it)."""
        return cls(
            name=config["COUNCIL_NAME"],
            contact_email="",
            contact_phone="",
            address="",
            website="",
            districts=tuple(districts),
            cancellation_notice_hours=int(config["CANCELLATION_NOTICE_HOURS"]),
        )


def current() -> Council:
    row = db.session.get(CouncilSettings, 1)
    districts = tuple(db.session.execute(select(CouncilDistrict.outward_code).order_by(CouncilDistrict.outward_code)).scalars())
    if row is None:
        return Council.from_config(current_app.config, districts)
    return Council(row.name, row.contact_email, row.contact_phone, row.address, row.website, districts, row.cancellation_notice_hours)


def current_or_configured() -> Council:
    """``current()``, or the council as configuration describes it when the database cannot
    be read: an error page must still render the council's name."""
    try:
        return current()
    except SQLAlchemyError:
        db.session.rollback()
        return Council.from_config(current_app.config)


def _sort_key(code: str):
    letters = "".join(ch for ch in code if ch.isalpha() and code.index(ch) < 2)
    digits = "".join(ch for ch in code[len(letters) :] if ch.isdigit())
    return (letters, int(digits or 0), code)


def update(
    actor: User,
    *,
    name: str,
    contact_email: str,
    contact_phone: str,
    address: str,
    website: str,
    districts_text: str,
    cancellation_notice_hours: int | None = None,
) -> Council:
    errors: dict[str, str] = {}
    name = " ".join((name or "").split())
    if not name:
        errors["name"] = "Enter the council's name"
    elif len(name) > 160:
        errors["name"] = "Name must be 160 characters or fewer"
    email = (contact_email or "").strip()
    if email:
        try:
            email = accounts.normalise_email(email, "contact_email")
        except ValidationError as exc:
            errors.update(exc.errors)
    phone = " ".join((contact_phone or "").split())[:32]
    website = (website or "").strip()
    if website and not website.lower().startswith(("http://", "https://")):
        website = "https://" + website
    if len(website) > 300:
        errors["website"] = "Website must be 300 characters or fewer"
    codes = _district_codes(districts_text, errors)
    notice = current().cancellation_notice_hours if cancellation_notice_hours is None else cancellation_notice_hours
    if isinstance(notice, bool) or not isinstance(notice, int) or not (0 <= notice <= 168):
        errors["cancellation_notice_hours"] = "Enter the notice in whole hours, from 0 to 168 (a week)"
    if errors:
        raise ValidationError(errors)
    before = current()
    row = db.session.get(CouncilSettings, 1)
    if row is None:
        row = CouncilSettings(id=1, name=name)
        db.session.add(row)
    row.name, row.contact_email, row.contact_phone, row.address, row.website = name, email, phone, (address or "").strip(), website
    row.cancellation_notice_hours = notice
    db.session.execute(CouncilDistrict.__table__.delete())
    for code in codes:
        db.session.add(CouncilDistrict(outward_code=code))
    db.session.flush()
    after = current()
    old, new = audit.changes(before.__dict__, after.__dict__)
    if new:
        audit.record(actor, "council.settings_changed", "council", 1, before=old, after=new)
    db.session.commit()
    return after


def _district_codes(text: str, errors: dict[str, str]) -> list[str]:
    """The postcode districts typed (any case, commas or spaces between), in order; a
    problem with them goes in ``errors``."""
    codes = sorted({c for c in (text or "").upper().replace(",", " ").split() if c}, key=_sort_key)
    malformed = [c for c in codes if not is_outward_code(c)]
    known = set(db.session.execute(select(PostcodeDistrict.outward_code)).scalars())
    unknown = [c for c in codes if c not in known and c not in malformed]
    if malformed:
        errors["districts"] = f"Enter postcode districts like PE1, separated by commas. These are not: {', '.join(malformed)}"
    elif unknown:
        errors["districts"] = f"We do not have these postcode districts: {', '.join(unknown)}"
    elif not codes:
        errors["districts"] = "Enter at least one postcode district, like PE1"
    return codes
