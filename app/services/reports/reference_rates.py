"""Reference rates: the price the council measures listed and paid prices against, for a
type of support and unit ("Fair Cost of Care median 2025-26"). A council setting, so every
change is in the audit trail."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.database import write_transaction
from app.extensions import db
from app.models import Category, PriceUnit, ReferenceRate, User
from app.models.services import MAX_PRICE_PENCE
from app.services import audit
from app.services.errors import Conflict, ValidationError

SOURCE_MAX = 200


def rates() -> dict[tuple[int, PriceUnit], ReferenceRate]:
    """Every reference rate, by (category id, unit)."""
    found = db.session.execute(select(ReferenceRate)).scalars()
    return {(rate.category_id, PriceUnit(rate.price_unit)): rate for rate in found}


def _unit(price_unit) -> PriceUnit | None:
    try:
        return PriceUnit(price_unit)
    except ValueError:
        return None


def _validated(category: Category | None, price_unit, rate_pence, source: str | None) -> tuple[PriceUnit, int, str]:
    errors: dict[str, str] = {}
    if category is None:
        errors["category"] = "Choose a type of support"
    unit = _unit(price_unit) if price_unit not in (None, "") else None
    if unit is None:
        errors["price_unit"] = "Choose what the rate is for: an hour, a visit, a day, a night, a week or an item"
    if rate_pence is None or rate_pence == "":
        errors["rate_pence"] = "Enter the reference rate"
    elif isinstance(rate_pence, bool) or not isinstance(rate_pence, int):
        errors["rate_pence"] = "Enter the reference rate in pounds and pence, like 28.53"
    elif rate_pence <= 0:
        errors["rate_pence"] = "The reference rate must be more than £0"
    elif rate_pence > MAX_PRICE_PENCE:
        errors["rate_pence"] = "The reference rate must be £5,000 or less"
    source = " ".join((source or "").split())
    if not source:
        errors["source"] = "Enter where the rate comes from, like Fair Cost of Care median 2025-26"
    elif len(source) > SOURCE_MAX:
        errors["source"] = f"Where the rate comes from must be {SOURCE_MAX} characters or fewer"
    if errors:
        raise ValidationError(errors)
    return unit, rate_pence, source


def set_rate(actor: User, category: Category | None, price_unit, rate_pence, source: str | None) -> ReferenceRate:
    """Set (or change) the reference rate for a type of support and unit, and record who
    changed it. Raises ValidationError with a message for each field that is wrong."""
    unit, pence, source = _validated(category, price_unit, rate_pence, source)
    with write_transaction():
        rate = db.session.execute(
            select(ReferenceRate).where(ReferenceRate.category_id == category.id, ReferenceRate.price_unit == unit)
        ).scalar_one_or_none()
        before = None if rate is None else {"rate_pence": rate.rate_pence, "source": rate.source}
        if rate is None:
            rate = ReferenceRate(category_id=category.id, price_unit=unit, rate_pence=pence, source=source)
            db.session.add(rate)
        rate.rate_pence, rate.source, rate.updated_by_id = pence, source, actor.id
        try:
            with db.session.begin_nested():
                db.session.flush()
        except IntegrityError:
            # Someone else set the first rate for this type and unit at the same moment.
            raise Conflict("Someone else set this reference rate at the same time: check it and save again") from None
        after = {"rate_pence": pence, "source": source}
        if before != after:
            old, new = audit.changes(before or {}, after)
            audit.record(
                actor,
                "reference_rate.set",
                "reference_rate",
                rate.id,
                before=old if before is not None else None,
                after=new,
                note=f"{category.name}, {unit.per_label}",
            )
    return rate
