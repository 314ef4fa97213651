"""Finding budgets: a citizen's, one by its public id, and all of them."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import (
    PersonalBudget,
    User,
)
from app.services.errors import NotFound


def budgets_for_citizen(citizen: User) -> list[PersonalBudget]:
    return list(
        db.session.execute(
            select(PersonalBudget).where(PersonalBudget.citizen_id == citizen.id).order_by(PersonalBudget.starts_on.desc())
        ).scalars()
    )


def get_budget(public_id: str) -> PersonalBudget:
    budget = db.session.execute(select(PersonalBudget).where(PersonalBudget.public_id == public_id)).scalar_one_or_none()
    if budget is None:
        raise NotFound("No such budget")
    return budget


def all_budgets() -> list[PersonalBudget]:
    return list(db.session.execute(select(PersonalBudget).order_by(PersonalBudget.id)).scalars())
