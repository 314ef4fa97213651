"""The people in the market: a staff member for each provider, and the people who use care,
each paying in one of the four ways (``WAYS``), with a personal budget to come or a saved
card (prepaid for direct payments, debit or credit for self-funders).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from bench.reports_market_calendar import DAY, Calendar
from bench.reports_market_copy import Tables

WAYS = (("managed", 0.55), ("isf", 0.20), ("direct_payment", 0.12), ("self_funded", 0.13))


@dataclass(slots=True)
class Person:
    id: int
    way: str
    district: str
    starts: dt.datetime  # when they began using care (a budget's first funded period)
    budget_id: int | None = None
    isf_provider: int | None = None
    card_id: int | None = None
    bookings: list = field(default_factory=list)


def people_and_staff(t: Tables, rng: random.Random, people: int, council: list, cal: Calendar, catalogue: dict) -> dict:
    """A staff member for each provider, and the people who use care with their cards."""
    user_columns = "id email name role active citizen_funding created_at updated_at"
    by_provider = {}
    providers = sorted({s[1] for s in catalogue["all"]})
    for pid in providers:
        uid = t.next_id("users")
        t.add(
            "users", user_columns, (uid, f"staff{pid}@bench.test", f"Staff {pid}", "provider", True, None, cal.span_start, cal.span_start)
        )
        t.add(
            "provider_staff", "id provider_id user_id org_role created_at", (t.next_id("provider_staff"), pid, uid, "owner", cal.span_start)
        )
        by_provider[pid] = uid
    catalogue["weights"] = {s[0]: rng.paretovariate(1.3) for s in catalogue["all"]}
    isf_providers = sorted(catalogue["by_provider"])
    isf_weights = [sum(catalogue["weights"][s[0]] for s in catalogue["by_provider"][p]) for p in isf_providers]
    ways, way_weights = zip(*WAYS, strict=True)
    persons = []
    for n in range(1, people + 1):
        way = rng.choices(ways, weights=way_weights)[0]
        late = rng.random() < 0.3
        first = rng.randrange(1, len(cal.period_starts) - 1) if late else 0
        starts = (
            max(cal.funded_at(first), cal.span_start) if way in ("managed", "isf") else cal.span_start + (late * rng.random() * 250 * DAY)
        )
        uid = t.next_id("users")
        funding = "self_funder" if way == "self_funded" else "personal_budget"
        t.add("users", user_columns, (uid, f"person{n}@bench.test", f"Person {n}", "citizen", True, funding, starts, starts))
        person = Person(uid, way, rng.choice(council), starts)
        if way in ("managed", "isf"):
            person.budget_id = t.next_id("personal_budgets")
            if way == "isf":
                person.isf_provider = rng.choices(isf_providers, weights=isf_weights)[0]
        else:
            _save_card(t, person, n)
        persons.append(person)
    return {"by_provider": by_provider, "persons": persons}


def _save_card(t: Tables, person: Person, n: int) -> None:
    prepaid = person.way == "direct_payment"
    person.card_id = t.next_id("payment_cards")
    t.add(
        "card_customers",
        "id user_id stripe_customer_id created_at",
        (t.next_id("card_customers"), person.id, f"cus_bench_{n}", person.starts),
    )
    t.add(
        "payment_cards",
        "id public_id owner_id stripe_payment_method_id brand last4 exp_month exp_year funding route created_at",
        (
            person.card_id,
            f"card{person.card_id:016d}",
            person.id,
            f"pm_bench_{n}",
            "mastercard" if prepaid or n % 3 == 0 else "visa",
            f"{n * 7919 % 10000:04d}",
            1 + n % 12,
            2028 + n % 3,
            "prepaid" if prepaid else ("credit" if n % 4 == 0 else "debit"),
            "prepaid_card" if prepaid else "self_funder",
            person.starts,
        ),
    )
