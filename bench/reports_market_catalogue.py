"""The published services the market books, by category and by provider, how often each type
of support is looked for (``CATEGORY_WEIGHTS``), and a pick among services by popularity.
"""

from __future__ import annotations

import random

from sqlalchemy import select

from app.extensions import db
from app.models import Category, Service

CATEGORY_WEIGHTS = {
    "home-care": 30, "personal-assistants": 8, "day-opportunities": 10, "short-breaks": 6, "supported-living": 8, "meals": 6,
    "transport": 4, "equipment": 2, "advocacy": 2, "befriending": 4, "cleaning": 6, "dementia-support": 8, "carers-support": 4,
}  # fmt: skip


def read_catalogue() -> dict:
    """The published services, by category and by provider, and the categories' slugs."""
    slugs = {c.id: c.slug for c in db.session.execute(select(Category)).scalars()}
    rows = db.session.execute(
        select(
            Service.id,
            Service.provider_id,
            Service.category_id,
            Service.price_pence,
            Service.price_unit,
            Service.title,
            Service.accepts_personal_budget,
            Service.accepts_prepaid_card,
            Service.accepts_self_funder,
        ).where(Service.status == "published")
    ).all()
    found: dict = {"slugs": slugs, "by_route": {}, "by_provider": {}, "all": []}
    for row in rows:
        service = (row[0], row[1], row[2], row[3], row[4].value, row[5])
        found["all"].append(service)
        for route, accepts in (("budget", row[6]), ("prepaid", row[7]), ("self", row[8])):
            if accepts:
                found["by_route"].setdefault((route, slugs[row[2]]), []).append(service)
                if route == "budget":
                    found["by_provider"].setdefault(row[1], []).append(service)
    return found


def weighted(rng: random.Random, services: list, weights: dict) -> tuple:
    return rng.choices(services, weights=[weights[s[0]] for s in services])[0]
