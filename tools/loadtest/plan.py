"""Who the load test signs in as and what they may book, read from the freshly loaded demo
market and written as JSON for the locustfile (which only speaks HTTP).

    python -m tools.loadtest.plan OUT.json   (in the app's environment)
"""

from __future__ import annotations

import json
import sys

from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models import Category, OrgRole, Provider, ProviderStaff, ProviderStatus, Service, ServiceStatus, User
from app.services import budgets
from app.services.demo.accounts import DEMO_PASSWORD, demo_provider
from app.services.demo.places import DISTRICTS

# How many providers' services the simulated citizens book: their owners accept and record
# them, so the provider side of the run always has work.
BOOKED_PROVIDERS = 6
EVERYDAY_WORDS = (
    "home care",
    "help with washing and bathing",
    "my dad needs help with a bath",
    "dementia",
    "night sitting",
    "pick up my prescriptions",
    "shopping",
    "day centre",
    "meals",
    "companionship",
    "respite",
    "live in carer",
    "getting out of bed",
    "medication",
    "cleaning",
)


def _owners() -> dict[int, str]:
    rows = db.session.execute(
        select(ProviderStaff.provider_id, User.email)
        .join(User, User.id == ProviderStaff.user_id)
        .where(ProviderStaff.org_role == OrgRole.OWNER)
        .order_by(ProviderStaff.id)
    ).all()
    owners: dict[int, str] = {}
    for provider_id, email in rows:
        owners.setdefault(provider_id, email)
    return owners


def _listed_services() -> list[Service]:
    return list(
        db.session.execute(
            select(Service)
            .join(Provider, Provider.id == Service.provider_id)
            .where(Service.status == ServiceStatus.PUBLISHED, Provider.status == ProviderStatus.VERIFIED)
            .order_by(Service.id)
        )
        .scalars()
        .all()
    )


def _budget_services(email: str, services: list[Service]) -> list[int]:
    person = db.session.execute(select(User).where(User.email == email)).scalar_one()
    return [s.id for s in services if s.accepts_personal_budget and budgets.usable_budgets(person, s)]


def build() -> dict:
    services = _listed_services()
    owners = _owners()
    home = demo_provider()
    others = sorted({s.provider_id for s in services if s.provider_id != home.id and s.provider_id in owners})
    booked = [home.id, *others[: BOOKED_PROVIDERS - 1]]
    bookable = [s for s in services if s.provider_id in booked]
    categories = db.session.execute(select(Category.name)).scalars().all()
    margaret = _budget_services("citizen@demo.test", bookable)
    return {
        "password": DEMO_PASSWORD,
        "service_ids": [s.id for s in services],
        "min_units": {str(s.id): s.min_units for s in bookable},
        "search_words": [*EVERYDAY_WORDS, *(c.lower() for c in categories)],
        "postcodes": [f"{code} {n}AB" for code, *_ in DISTRICTS for n in (1, 5)],
        # Whom each kind of simulated person signs in as, and what they may book.
        "budget_holders": [
            {"email": "citizen@demo.test", "services": margaret},
            {"email": "representative@demo.test", "services": margaret},
            {"email": "isf@demo.test", "services": _budget_services("isf@demo.test", bookable)},
        ],
        "self_funders": [{"email": "selffunder@demo.test", "services": [s.id for s in bookable if s.accepts_self_funder]}],
        "providers": [{"email": "provider@demo.test" if pid == home.id else owners[pid]} for pid in booked],
        "commissioners": [{"email": "commissioner@demo.test"}],
    }


def main(argv: list[str]) -> int:
    app = create_app()
    with app.app_context():
        plan = build()
    with open(argv[0], "w", encoding="utf-8") as out:
        json.dump(plan, out, indent=1)
    print(f"  plan: {len(plan['service_ids'])} listed services, {len(plan['providers'])} providers' owners taking bookings")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
