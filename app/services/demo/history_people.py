"""The people of the demo's history: who they are, where they live, how they pay, what care
they use and when they started. Nobody signs in as them: they have no password (a missing
hash never matches), so making 40-odd of them costs no password hashing.

The mix is a council area's: council-managed personal budgets, Individual Service Funds,
direct payments on a council prepaid card, and self-funders paying with their own card.
Budget holders use their budget for regular care week in, week out, sized from that care
(four weeks of it, with a little over for extras), as councils size them; one in
four under-spends (their unspent money grows past 8 weeks' worth) and two budgets end
part-way through the year.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from app.extensions import db
from app.models import CitizenFunding, FundingRoute, PriceUnit, Role, User
from app.services.demo.places import COUNCIL_DISTRICTS, STREETS

HISTORY_DOMAIN = "history.demo.test"
MARKER_EMAIL = f"p01@{HISTORY_DOMAIN}"  # history is loaded once this person exists

FIRST = (
    "Arthur", "Beryl", "Colin", "Doreen", "Eileen", "Frank", "Gwen", "Harold", "Irene", "Jean", "Keith", "Lorraine",
    "Maureen", "Norman", "Olive", "Patrick", "Rita", "Stanley", "Sylvia", "Terence", "Valerie", "Wendy", "Amir", "Bogdan",
    "Chidi", "Daniela", "Esther", "Gurpreet", "Hassan", "Ioana", "Jamal", "Kasia", "Leon", "Mohammed", "Nadia", "Oliwia",
    "Pawel", "Rukhsana", "Sunita", "Tomasz", "Yasmin", "Zofia", "Callum", "Ellie",
)  # fmt: skip
LAST = (
    "Abbott", "Barker", "Chapman", "Dixon", "Ellis", "Fletcher", "Gibson", "Harper", "Ingram", "Jarvis", "Kowalski", "Lambert",
    "Marsh", "Nowak", "Osei", "Patel", "Quinn", "Rahman", "Singh", "Turner", "Underwood", "Vaughan", "Walsh", "Young",
)  # fmt: skip
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
TOWN_OF = {"PE9": "Stamford", "PE13": "Wisbech", "PE15": "March", "PE19": "St Neots", "PE26": "Ramsey", "PE28": "Huntingdon"}

# What people use week by week: (category, units it is priced in, units a visit, days a week)
WEEKLY_NEEDS = (
    ("home-care", (PriceUnit.HOUR,), 2, 2),
    ("home-care", (PriceUnit.HOUR,), 1, 1),
    ("personal-assistants", (PriceUnit.HOUR,), 3, 1),
    ("day-opportunities", (PriceUnit.DAY,), 1, 1),
    ("dementia-support", (PriceUnit.HOUR,), 2, 1),
    ("supported-living", (PriceUnit.HOUR,), 3, 1),
    ("cleaning", (PriceUnit.HOUR,), 2, 1),
    ("befriending", (PriceUnit.VISIT,), 1, 1),
)
# What budget holders use week by week, in turn round them: home care most, one visit a week
# (a longer visit rather than several, which keeps the loader quick).
HOME_CARE = ("home-care", (PriceUnit.HOUR,), 2, 1)
BUDGET_NEEDS = (
    HOME_CARE,
    ("home-care", (PriceUnit.HOUR,), 3, 1),
    ("personal-assistants", (PriceUnit.HOUR,), 3, 1),
    HOME_CARE,
    ("day-opportunities", (PriceUnit.DAY,), 1, 1),
    ("home-care", (PriceUnit.HOUR,), 3, 1),
    ("dementia-support", (PriceUnit.HOUR,), 2, 1),
)
# What people book now and then: (category, units it is priced in, units)
OCCASIONAL_NEEDS = (
    ("short-breaks", (PriceUnit.NIGHT,), 2),
    ("transport", (PriceUnit.VISIT,), 1),
    ("equipment", (PriceUnit.ITEM,), 1),
    ("meals", (PriceUnit.ITEM,), 5),
    ("advocacy", (PriceUnit.HOUR,), 2),
    ("carers-support", (PriceUnit.VISIT, PriceUnit.HOUR), 1),
    ("day-opportunities", (PriceUnit.DAY, PriceUnit.VISIT), 1),
    ("cleaning", (PriceUnit.HOUR,), 3),
)
OUTCOMES = (
    "Get up, washed and dressed each morning",
    "See friends and get out of the house each week",
    "Stay safe and well in my own home",
    "Give my husband a break from caring",
    "Keep my flat clean and tidy",
    "Go to the day centre and keep active",
)
# Extras a budget holder buys now and then from what their budget has over: the cheaper kinds.
BUDGET_EXTRAS = tuple(n for n in OCCASIONAL_NEEDS if n[0] in ("transport", "meals", "advocacy", "carers-support", "cleaning"))
# How each person pays, in this order round the people: budgets, ISFs, prepaid cards, own cards.
ROUTES = ("managed", "prepaid", "self", "isf", "self", "prepaid", "self", "self", "managed", "prepaid", "self", "self", "prepaid", "self")
UNDERSPEND_EVERY = 4  # one budget holder in four leaves much of their budget unspent


@dataclass
class Person:
    n: int
    name: str
    district: str
    address: str
    route: str  # managed, isf, prepaid or self
    start_period: int  # the history period their care starts in
    weekly: tuple | None  # a WEEKLY_NEEDS entry, or None: only occasional care
    occasional: list = field(default_factory=list)
    amount_pence: int = 0  # a budget's amount per 4 weeks, set from the care it pays for
    underspends: bool = False
    end_period: int | None = None  # the period their budget ends in
    user: User | None = None
    budget: object = None
    card_public_id: str | None = None
    service_id: int | None = None  # the service they keep going back to
    avoid: set = field(default_factory=set)  # providers that declined them

    @property
    def email(self) -> str:
        return f"p{self.n:02d}@{HISTORY_DOMAIN}"

    @property
    def funding_route(self) -> FundingRoute:
        return {"prepaid": FundingRoute.PREPAID_CARD, "self": FundingRoute.SELF_FUNDER}.get(self.route, FundingRoute.PERSONAL_BUDGET)


def people(rng: random.Random, count: int) -> list[Person]:
    """The people, the same on every machine (``rng`` is seeded). The first round of ways of
    paying were already using care when the year began, so every way is in use all year."""
    out = []
    names = rng.sample([f"{f} {la}" for f in FIRST for la in LAST], count)
    holders = 0
    for i in range(count):
        route = ROUTES[i % len(ROUTES)]
        district = rng.choice(COUNCIL_DISTRICTS) if route != "self" or rng.random() < 0.6 else rng.choice(tuple(TOWN_OF))
        start = rng.choice((0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11))
        # Home care for the first few paying by card, so its price paid is followed all year.
        weekly = HOME_CARE if i < 3 else rng.choice(WEEKLY_NEEDS) if i >= len(ROUTES) and rng.random() < 0.12 else None
        person = Person(
            n=i + 1,
            name=names[i],
            district=district,
            address=_address(rng, district),
            route=route,
            start_period=0 if i < len(ROUTES) else start,
            weekly=weekly,
            occasional=rng.sample(OCCASIONAL_NEEDS, 2),
        )
        if route in ("managed", "isf"):
            person.weekly = BUDGET_NEEDS[holders % len(BUDGET_NEEDS)]
            person.occasional = rng.sample(BUDGET_EXTRAS, 2)
            # Under-spenders started early enough for the unspent money to build up.
            person.underspends = holders % UNDERSPEND_EVERY == UNDERSPEND_EVERY - 2
            if person.underspends:
                person.start_period = min(person.start_period, 3)
            holders += 1
        out.append(person)
    # Two council-managed budgets end part-way through the year (a move into a care home).
    ending = [p for p in out if p.route == "managed" and p.start_period <= 2 and not p.underspends][:2]
    for person, end in zip(ending, (7, 10), strict=False):
        person.end_period = end
    return out


def _address(rng: random.Random, district: str) -> str:
    inward = f"{rng.randint(1, 9)}{rng.choice(INWARD_LETTERS)}{rng.choice(INWARD_LETTERS)}"
    return f"{rng.randint(2, 140)} {rng.choice(STREETS)}\n{TOWN_OF.get(district, 'Peterborough')}\n{district} {inward}"


def add_user(person: Person, joined: dt.datetime) -> User:
    """The person's account: a citizen with no password (nobody signs in as them)."""
    user = User(
        email=person.email,
        name=person.name,
        role=Role.CITIZEN,
        citizen_funding=CitizenFunding.SELF_FUNDER if person.route == "self" else CitizenFunding.PERSONAL_BUDGET,
        password_hash=None,
        created_at=joined,
        updated_at=joined,
    )
    db.session.add(user)
    db.session.flush()
    person.user = user
    return user
