"""The council's own settings: name, area (postcode districts), contact details, the rules
for paying providers for delivered visits, and the council's bank account for payment files.
Until a commissioner saves them, the name comes from COUNCIL_NAME and the rest from the
defaults below (the same as the database's).

This module sits low in the import graph (templates, error pages and the payment services
read it): it imports models and a few small services (accounts, audit, geo), never the
capabilities built on it, like payment runs; its bank-detail checks are its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.models import CouncilDistrict, CouncilSettings, PayBasis, PostcodeDistrict, Rounding, User
from app.services import accounts, audit
from app.services.errors import ValidationError
from app.services.geo import is_outward_code

# Before a commissioner saves the settings (the same defaults as the database's).
DEFAULT_PAY_BASIS = PayBasis.LESSER
DEFAULT_BILLING_INCREMENT_MINUTES = 5
DEFAULT_ROUNDING = Rounding.NEAREST
DEFAULT_TOLERANCE_MINUTES = 10
DEFAULT_CONFIRM_DAYS = 7
DEFAULT_PAYMENT_RUN_WEEKS = 4
DEFAULT_REQUEST_EXPIRY_HOURS = 48
MIN_REQUEST_EXPIRY_HOURS = 12
MAX_REQUEST_EXPIRY_HOURS = 336  # two weeks

BILLING_INCREMENTS = (1, 5, 15)
PAYMENT_RUN_WEEKS = (1, 2, 4)
MAX_TOLERANCE_MINUTES = 120
MAX_CONFIRM_DAYS = 28


@dataclass(frozen=True)
class Council:
    name: str
    contact_email: str
    contact_phone: str
    address: str
    website: str
    districts: tuple[str, ...]
    cancellation_notice_hours: int
    # A request neither accepted nor declined this many hours after it was made expires.
    request_expiry_hours: int = DEFAULT_REQUEST_EXPIRY_HOURS
    # Paying for delivered visits.
    pay_basis: PayBasis = DEFAULT_PAY_BASIS
    billing_increment_minutes: int = DEFAULT_BILLING_INCREMENT_MINUTES
    rounding: Rounding = DEFAULT_ROUNDING
    tolerance_minutes: int = DEFAULT_TOLERANCE_MINUTES
    confirm_days: int = DEFAULT_CONFIRM_DAYS
    payment_run_weeks: int = DEFAULT_PAYMENT_RUN_WEEKS
    # The council's own bank account that payment files pay from ('' until it is entered).
    bank_sort_code: str = ""  # 6 digits
    bank_account_number: str = ""  # 8 digits
    bacs_user_number: str = ""  # 6 digits: the Bacs service user number
    # Proportionate audit: a budget holding more than this many weeks' worth unspent is
    # flagged; this share of budgets is drawn at random each year.
    unspent_weeks_threshold: int = 8
    audit_share_percent: int = 10
    # Where to report a security problem: an email address or an https:// address ('' until set).
    security_contact: str = ""

    @property
    def bank_sort_code_display(self) -> str:
        """``30-94-57``, or '' when there is none."""
        code = self.bank_sort_code
        return f"{code[:2]}-{code[2:4]}-{code[4:]}" if code else ""

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


@dataclass(frozen=True)
class DeliveryRules:
    """How a delivered visit is paid: on which time (``pay_basis``), counted in blocks of
    ``billing_increment_minutes`` rounded ``rounding``; a visit whose actual start and
    length are within ``tolerance_minutes`` of the plan is paid as planned (outside it, it
    goes to the commissioner's exceptions queue); the person has ``confirm_days`` days to
    confirm or dispute it."""

    pay_basis: PayBasis = DEFAULT_PAY_BASIS
    billing_increment_minutes: int = DEFAULT_BILLING_INCREMENT_MINUTES
    rounding: Rounding = DEFAULT_ROUNDING
    tolerance_minutes: int = DEFAULT_TOLERANCE_MINUTES
    confirm_days: int = DEFAULT_CONFIRM_DAYS


def current() -> Council:
    row = db.session.get(CouncilSettings, 1)
    districts = tuple(db.session.execute(select(CouncilDistrict.outward_code).order_by(CouncilDistrict.outward_code)).scalars())
    if row is None:
        return Council.from_config(current_app.config, districts)
    return Council(
        name=row.name,
        contact_email=row.contact_email,
        contact_phone=row.contact_phone,
        address=row.address,
        website=row.website,
        districts=districts,
        cancellation_notice_hours=row.cancellation_notice_hours,
        request_expiry_hours=row.request_expiry_hours,
        pay_basis=row.pay_basis,
        billing_increment_minutes=row.billing_increment_minutes,
        rounding=row.rounding,
        tolerance_minutes=row.tolerance_minutes,
        confirm_days=row.confirm_days,
        payment_run_weeks=row.payment_run_weeks,
        bank_sort_code=row.bank_sort_code,
        bank_account_number=row.bank_account_number,
        bacs_user_number=row.bacs_user_number,
        unspent_weeks_threshold=row.unspent_weeks_threshold,
        audit_share_percent=row.audit_share_percent,
        security_contact=row.security_contact,
    )


def delivery_rules() -> DeliveryRules:
    """The council's rules for paying delivered visits (the defaults until it sets them)."""
    row = db.session.get(CouncilSettings, 1)
    if row is None:
        return DeliveryRules()
    return DeliveryRules(
        pay_basis=row.pay_basis,
        billing_increment_minutes=row.billing_increment_minutes,
        rounding=row.rounding,
        tolerance_minutes=row.tolerance_minutes,
        confirm_days=row.confirm_days,
    )


def payment_schedule_weeks() -> int:
    """How often payment runs happen: every 1, 2 or 4 weeks, aligned to the 4-week budget
    periods (the default 4 until the council sets it)."""
    row = db.session.get(CouncilSettings, 1)
    return DEFAULT_PAYMENT_RUN_WEEKS if row is None else row.payment_run_weeks


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
    request_expiry_hours: int | None = None,
    pay_basis: PayBasis | str | None = None,
    billing_increment_minutes: int | None = None,
    rounding: Rounding | str | None = None,
    tolerance_minutes: int | None = None,
    confirm_days: int | None = None,
    payment_run_weeks: int | None = None,
    bank_sort_code: str | None = None,
    bank_account_number: str | None = None,
    bacs_user_number: str | None = None,
    audit_share_percent: int | None = None,
    security_contact: str | None = None,
) -> Council:
    """Save the council's settings, audited as one "council.settings_changed" event.

    Every argument after ``districts_text`` may be None: that setting stays as it is. Bank
    details may be '' (none). Every problem is reported at once (a ValidationError keyed by
    argument name) and nothing is saved."""
    errors: dict[str, str] = {}
    before = current()
    about = _about_the_council(name, contact_email, contact_phone, address, website, errors)
    codes = _district_codes(districts_text, errors)
    if security_contact is not None:
        about["security_contact"] = _security_contact(security_contact, errors)
    notice = before.cancellation_notice_hours if cancellation_notice_hours is None else cancellation_notice_hours
    if not _whole_number_in(notice, 0, 168):
        errors["cancellation_notice_hours"] = "Enter the notice in whole hours, from 0 to 168 (a week)"
    expiry = before.request_expiry_hours if request_expiry_hours is None else request_expiry_hours
    if not _whole_number_in(expiry, MIN_REQUEST_EXPIRY_HOURS, MAX_REQUEST_EXPIRY_HOURS):
        errors["request_expiry_hours"] = "Enter the time to answer a request in whole hours, from 12 to 336 (two weeks)"
    payment = _payment_settings(
        before,
        errors,
        pay_basis=pay_basis,
        billing_increment_minutes=billing_increment_minutes,
        rounding=rounding,
        tolerance_minutes=tolerance_minutes,
        confirm_days=confirm_days,
        payment_run_weeks=payment_run_weeks,
        bank_sort_code=bank_sort_code,
        bank_account_number=bank_account_number,
        bacs_user_number=bacs_user_number,
        audit_share_percent=audit_share_percent,
    )
    if errors:
        raise ValidationError(errors)
    return _save(actor, before, {**about, "cancellation_notice_hours": notice, "request_expiry_hours": expiry, **payment}, codes)


def _about_the_council(name, contact_email, contact_phone, address, website, errors: dict[str, str]) -> dict:
    """The council's name and contact details to save; a problem with them goes in ``errors``."""
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
    return {"name": name, "contact_email": email, "contact_phone": phone, "address": (address or "").strip(), "website": website}


SECURITY_CONTACT_INVALID = (
    "Enter the security contact as an email address, like security@council.gov.uk, or a web address starting https://"
)


def _security_contact(text: str, errors: dict[str, str]) -> str:
    """An email address (lower case) or an https:// address; '' for none."""
    text = (text or "").strip()
    if not text:
        return ""
    if text.lower().startswith("https://"):
        if len(text) > 300 or any(ch.isspace() for ch in text) or len(text) <= len("https://"):
            errors["security_contact"] = SECURITY_CONTACT_INVALID
        return text
    try:
        return accounts.normalise_email(text.removeprefix("mailto:"), "security_contact")
    except ValidationError:
        errors["security_contact"] = SECURITY_CONTACT_INVALID
        return text


def security_contact_uri() -> str | None:
    """For security.txt's Contact: the security contact, else the council's contact email, as
    a mailto: or https: URI; None when the council has given neither."""
    council = current()
    contact = council.security_contact or council.contact_email
    if not contact:
        return None
    return contact if contact.lower().startswith("https://") else f"mailto:{contact}"


def _save(actor: User, before: Council, values: dict, codes: list[str]) -> Council:
    """Write the checked settings and districts, audit what changed (a bank account number
    by its last 4 digits only) and commit."""
    row = db.session.get(CouncilSettings, 1)
    if row is None:
        row = CouncilSettings(id=1, name=values["name"])
        db.session.add(row)
    for key, value in values.items():
        setattr(row, key, value)
    db.session.execute(CouncilDistrict.__table__.delete())
    for code in codes:
        db.session.add(CouncilDistrict(outward_code=code))
    db.session.flush()
    after = current()
    old, new = audit.changes(before.__dict__, after.__dict__)
    if new:
        for recorded in (old, new):
            if "bank_account_number" in recorded:
                recorded["bank_account_number"] = _last_four(recorded["bank_account_number"])
        audit.record(actor, "council.settings_changed", "council", 1, before=old, after=new)
    db.session.commit()
    return after


# -- Paying for delivered visits, and the council's bank account ------------------------------

_SORT_CODE = re.compile(r"[0-9]{2}[- ]?[0-9]{2}[- ]?[0-9]{2}")
_DIGITS = re.compile(r"[0-9]+")


def _payment_settings(before: Council, errors: dict[str, str], **given) -> dict:
    """The delivery and payment settings to save ({setting: value}), each given one checked
    (None: as it is now); a problem with one goes in ``errors``."""
    values = {key: getattr(before, key) if value is None else value for key, value in given.items()}

    pay_basis = _choice(PayBasis, values["pay_basis"])
    if pay_basis is None:
        errors["pay_basis"] = "Choose what visits are paid on: the planned time, the actual time or the lesser of the two"
    rounding = _choice(Rounding, values["rounding"])
    if rounding is None:
        errors["rounding"] = "Choose whether to round up, round to the nearest or round down"
    if not _whole_number_in(values["billing_increment_minutes"], 1, 15, allowed=BILLING_INCREMENTS):
        errors["billing_increment_minutes"] = "Choose a billing increment of 1, 5 or 15 minutes"
    if not _whole_number_in(values["tolerance_minutes"], 0, MAX_TOLERANCE_MINUTES):
        errors["tolerance_minutes"] = "Enter the tolerance as a whole number of minutes from 0 to 120"
    if not _whole_number_in(values["confirm_days"], 1, MAX_CONFIRM_DAYS):
        errors["confirm_days"] = "Enter the days to confirm a visit as a whole number from 1 to 28"
    if not _whole_number_in(values["payment_run_weeks"], 1, 4, allowed=PAYMENT_RUN_WEEKS):
        errors["payment_run_weeks"] = "Choose a payment run every 1, 2 or 4 weeks"

    sort_code = _sort_code(values["bank_sort_code"])
    if sort_code is None:
        errors["bank_sort_code"] = "Enter a sort code like 30-94-57"
    account_number = _account_number(values["bank_account_number"])
    if account_number is None:
        errors["bank_account_number"] = "Enter an 8-digit account number, like 00733445 (a shorter one can be 6 or 7 digits)"
    if sort_code and account_number == "" and "bank_account_number" not in errors:
        errors["bank_account_number"] = "Enter the account number that goes with the sort code"
    if account_number and sort_code == "" and "bank_sort_code" not in errors:
        errors["bank_sort_code"] = "Enter the sort code that goes with the account number"
    if not _whole_number_in(values["audit_share_percent"], 1, 100):
        errors["audit_share_percent"] = "Enter the share of budgets to audit as a whole number from 1 to 100"
    user_number = _digits(values["bacs_user_number"], 6, 6)
    if user_number is None:
        errors["bacs_user_number"] = "Enter the Bacs service user number: 6 digits, like 123456"

    return {
        "pay_basis": pay_basis,
        "rounding": rounding,
        "billing_increment_minutes": values["billing_increment_minutes"],
        "tolerance_minutes": values["tolerance_minutes"],
        "confirm_days": values["confirm_days"],
        "payment_run_weeks": values["payment_run_weeks"],
        "bank_sort_code": sort_code,
        "bank_account_number": account_number,
        "bacs_user_number": user_number,
        "audit_share_percent": values["audit_share_percent"],
    }


def _whole_number_in(value, lowest: int, highest: int, allowed: tuple[int, ...] | None = None) -> bool:
    if isinstance(value, bool) or not isinstance(value, int) or not lowest <= value <= highest:
        return False
    return allowed is None or value in allowed


def _choice(kind, value):
    """``value`` (one of ``kind`` or its value) as one of ``kind``; None if it is not one."""
    if isinstance(value, kind):
        return value
    if not isinstance(value, str) or len(value) > 20:
        return None
    try:
        return kind(value.strip().lower())
    except ValueError:
        return None


def _sort_code(text) -> str | None:
    """A sort code typed as 30-94-57, 30 94 57 or 309457, as its 6 digits ('' for none);
    None if it is not one."""
    if not isinstance(text, str) or len(text) > 40:
        return None
    text = text.strip()
    if not text:
        return ""
    return text.replace("-", "").replace(" ", "") if _SORT_CODE.fullmatch(text) else None


def _account_number(text) -> str | None:
    """An account number of 6 to 8 digits (spaces allowed) as 8, left-padded with zeros ('' for
    none); None if it is not one."""
    digits = _digits(text, 6, 8)
    return digits.rjust(8, "0") if digits else digits


def _digits(text, fewest: int, most: int) -> str | None:
    """``text`` (spaces allowed between) as between ``fewest`` and ``most`` ASCII digits ('' for
    none); None if it is not that."""
    if not isinstance(text, str) or len(text) > 40:
        return None
    digits = "".join(text.split())
    if not digits:
        return ""
    return digits if _DIGITS.fullmatch(digits) and fewest <= len(digits) <= most else None


def _last_four(account_number) -> str:
    """An account number in the audit trail: only its last 4 digits."""
    return f"ending {account_number[-4:]}" if account_number else ""


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
