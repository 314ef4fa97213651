"""The demo market: providers and service listings around Peterborough.

Generated from a fixed seed, so every machine gets exactly the same market. The shape is
meant to look like a real council area: mostly Good CQC ratings, some Outstanding, some
Requires improvement, a few Inadequate and some not yet rated; plausible prices per unit;
some providers on the framework and some not; a few withdrawn and draft listings; two
providers still waiting to be verified.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from app.services.demo.places import COUNCIL_DISTRICTS, STREETS
from app.services.demo.service_templates import CATEGORY_SERVICES, HOURS, ServiceTemplate

SEED = 20261123
# Dates in the demo market are fixed relative to this day, so the data is deterministic.
ANCHOR = dt.date(2026, 11, 1)


# Which categories each kind of provider works in: (main, others...)
PROVIDER_KINDS = {
    "home care agency": ("home-care", "dementia-support", "short-breaks", "cleaning"),
    "PA co-operative": ("personal-assistants", "advocacy", "befriending"),
    "day service": ("day-opportunities", "dementia-support", "transport", "meals"),
    "respite service": ("short-breaks", "home-care", "carers-support"),
    "supported living provider": ("supported-living", "day-opportunities", "personal-assistants"),
    "community charity": ("befriending", "meals", "transport", "carers-support", "advocacy"),
    "equipment supplier": ("equipment",),
    "domestic help business": ("cleaning", "meals", "befriending"),
    "dementia charity": ("dementia-support", "carers-support", "befriending", "day-opportunities"),
}

# Who every listing of a kind of provider also supports, beyond what its kind of service
# does (service_templates.py): a dementia charity's befriending is for people with dementia.
KIND_SUPPORTS = {
    "supported living provider": ("younger_adults", "learning_disabilities", "autism"),
    "day service": ("older_people", "learning_disabilities"),
    "dementia charity": ("older_people", "dementia"),
}

# Kinds whose work CQC regulates (personal care, accommodation with care).
REGULATED_KINDS = {"home care agency", "respite service", "supported living provider", "dementia charity", "day service"}

PLACE_NAMES = (
    "Nene Valley",
    "Cathedral City",
    "Fenland",
    "Ferry Meadows",
    "Westwood",
    "Orton",
    "Werrington",
    "Stamford",
    "Deepings",
    "Whittlesey",
    "Yaxley",
    "Oundle",
    "Thorney",
    "Bretton",
    "Hampton",
    "Paston",
    "Eye Green",
    "Castor",
    "Glinton",
    "Crowland",
    "Wansford",
    "Stanground",
    "Millfield",
    "Dogsthorpe",
    "Longthorpe",
    "Peterborough",
    "Spalding",
    "Wisbech",
    "March",
    "Huntingdon",
    "St Neots",
    "Ramsey",
    "Bourne",
    "Chatteris",
    "St Ives",
    "Holbeach",
    "Fletton",
    "Gunthorpe",
    "Walton",
    "Parnwell",
    "Netherton",
    "Woodston",
    "Farcet",
    "Elton",
    "Ailsworth",
    "Helpston",
    "Maxey",
    "Barnack",
)

KIND_SUFFIXES = {
    "home care agency": ("Home Care", "Care at Home", "Homecare", "Domiciliary Care"),
    "PA co-operative": ("Personal Assistants", "PA Network"),
    "day service": ("Day Centre", "Day Opportunities"),
    "respite service": ("Respite Care", "Short Breaks"),
    "supported living provider": ("Supported Living", "Support Services"),
    "community charity": ("Community Trust", "Good Neighbours"),
    "equipment supplier": ("Mobility", "Living Aids"),
    "domestic help business": ("Home Help", "Domestic Services"),
    "dementia charity": ("Dementia Support", "Memory Matters"),
}

# How many providers of each kind (48 in all).
KIND_COUNTS = {
    "home care agency": 14,
    "PA co-operative": 4,
    "day service": 6,
    "respite service": 4,
    "supported living provider": 5,
    "community charity": 5,
    "equipment supplier": 3,
    "domestic help business": 4,
    "dementia charity": 3,
}

RATINGS = ("outstanding", "good", "requires_improvement", "inadequate")


@dataclass
class ServiceSpec:
    category: str
    title: str
    description: str
    unit: str
    price_pence: int
    min_units: int
    funding: tuple[bool, bool, bool]  # personal budget, prepaid card, self-funder
    hours: tuple[tuple[int, str, str], ...]
    availability_note: str
    status: str
    updated_on: dt.date
    supports: tuple[str, ...] = ()  # PeopleGroup values


@dataclass
class ProviderSpec:
    slug: str
    name: str
    legal_name: str
    kind: str
    description: str
    email: str
    phone: str
    website: str
    address_line1: str
    town: str
    base_postcode: str
    base_district: str
    areas: tuple[str, ...]
    radius_miles: int | None
    cqc_provider_id: str | None
    cqc_location_id: str | None
    ratings: dict[str, str | None]
    inspection_date: dt.date | None
    status: str
    framework_lots: tuple[str, ...]  # category slugs of lots it is approved on
    suspended_lots: tuple[str, ...]
    services: list[ServiceSpec] = field(default_factory=list)


def _slugify(text: str) -> str:
    out = "".join(ch.lower() if ch.isalnum() else "-" for ch in text)
    while "--" in out:
        out = out.replace("--", "-")
    return out.strip("-")


# CQC overall ratings handed out to regulated providers in turn: mostly Good, some
# Outstanding, some Requires improvement, a few Inadequate, some not yet rated (None).
RATING_SEQUENCE = (
    "good",
    "good",
    "outstanding",
    "good",
    "requires_improvement",
    "good",
    "inadequate",
    "good",
    None,
    "good",
    "outstanding",
    "good",
    "requires_improvement",
    "good",
    "good",
    None,
    "good",
    "inadequate",
    "good",
    "outstanding",
    "requires_improvement",
    "good",
)


def _key_question_ratings(rng: random.Random, overall: str) -> dict[str, str]:
    """Key-question ratings that sit around the overall one, as CQC's usually do."""
    idx = RATINGS.index(overall)
    result = {}
    for key in ("safe", "effective", "caring", "responsive", "well_led"):
        shift = rng.choice((0, 0, 0, -1, 1))
        result[key] = RATINGS[min(len(RATINGS) - 1, max(0, idx + shift))]
    # CQC's overall rating follows the key questions: keep at least one equal to it.
    if overall not in result.values():
        result["well_led"] = overall
    return result


def _inward(rng: random.Random) -> str:
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    return f"{rng.randint(1, 9)}{rng.choice(letters)}{rng.choice(letters)}"


FRAMEWORK_CATEGORIES = {"home-care", "supported-living", "short-breaks", "day-opportunities", "dementia-support"}


def build_market(towns: dict[str, str], distance) -> list[ProviderSpec]:
    """The whole demo market, deterministic for a given set of districts.

    ``towns`` maps each outward code to its post town; ``distance(a, b)`` gives the miles
    between two districts' centroids.
    """
    builder = _MarketBuilder(towns, distance)
    return [builder.provider(kind, n) for kind, count in KIND_COUNTS.items() for n in range(count)]


class _MarketBuilder:
    """Makes the demo providers one at a time from one seeded random sequence: every draw
    happens in the same order on every machine, so the market is always the same."""

    def __init__(self, towns: dict[str, str], distance) -> None:
        self.towns, self.distance = towns, distance
        self.rng = random.Random(SEED)
        self.council_codes = [c for c in COUNCIL_DISTRICTS if c in towns]
        self.all_codes = sorted(towns)
        self.names = list(PLACE_NAMES)
        self.rng.shuffle(self.names)
        self.used_names: set[str] = set()
        self.serial = 0
        self.regulated_count = 0

    def provider(self, kind: str, n: int) -> ProviderSpec:
        self.serial += 1
        place = self.names.pop()
        name = self._name(kind, n, place)
        slug = _slugify(name)
        base, postcode, areas, radius = self._where()
        ratings, inspection_date, cqc_ids = self._cqc(kind)
        status = "pending" if self.serial in (7, 31) else "verified"  # two wait for a commissioner to check them
        lots, suspended = self._lots(status, PROVIDER_KINDS[kind], ratings)
        rng = self.rng
        spec = ProviderSpec(
            slug=slug,
            name=name,
            legal_name=f"{name} {'CIC' if kind in ('community charity', 'dementia charity') else 'Ltd'}",
            kind=kind,
            description=_provider_description(name, kind, place, rng),
            email=f"hello@{slug.replace('-', '')}.example.org",
            phone=f"01733 {rng.randint(200000, 999999)}",
            website=f"https://www.{slug.replace('-', '')}.example.org",
            address_line1=f"{rng.randint(1, 180)} {rng.choice(STREETS)}",
            town=self.towns[base],
            base_postcode=postcode,
            base_district=base,
            areas=areas,
            radius_miles=radius,
            cqc_provider_id=cqc_ids[0],
            cqc_location_id=cqc_ids[1],
            ratings=ratings,
            inspection_date=inspection_date,
            status=status,
            framework_lots=tuple(lots),
            suspended_lots=tuple(suspended),
        )
        spec.services = _services_for(spec, rng)
        return spec

    def _name(self, kind: str, n: int, place: str) -> str:
        suffix = KIND_SUFFIXES[kind][n % len(KIND_SUFFIXES[kind])]
        name = f"{place} {suffix}"
        if name in self.used_names:  # pragma: no cover - names are unique by construction
            name = f"{name} {self.serial}"
        self.used_names.add(name)
        return name

    def _where(self) -> tuple[str, str, tuple[str, ...], int | None]:
        """Base district, postcode, areas covered and service radius: most providers are
        based in the city, some in the neighbouring towns."""
        rng = self.rng
        base = rng.choice(self.council_codes) if rng.random() < 0.8 else rng.choice(self.all_codes)
        postcode = f"{base} {_inward(rng)}"
        if rng.random() < 0.6:
            nearby = sorted(c for c in self.all_codes if self.distance(base, c) <= rng.choice((4, 6, 9, 12)))
            return base, postcode, tuple(nearby or [base]), None
        return base, postcode, (), rng.choice((5, 8, 10, 15, 20))

    def _cqc(self, kind: str) -> tuple[dict[str, str | None], dt.date | None, tuple[str | None, str | None]]:
        """CQC ratings, the inspection date and the CQC ids of a regulated provider."""
        rng = self.rng
        regulated = kind in REGULATED_KINDS and not (kind == "day service" and rng.random() < 0.5)
        ratings: dict[str, str | None] = dict.fromkeys(("overall", "safe", "effective", "caring", "responsive", "well_led"))
        if not regulated:
            return ratings, None, (None, None)
        ids = (f"1-{100000000 + self.serial * 7919:09d}", f"1-{200000000 + self.serial * 104729:09d}")
        overall = RATING_SEQUENCE[self.regulated_count % len(RATING_SEQUENCE)]
        self.regulated_count += 1
        inspection_date = None
        if overall:
            ratings["overall"] = overall
            ratings.update(_key_question_ratings(rng, overall))
            inspection_date = ANCHOR - dt.timedelta(days=rng.randint(60, 1100))
        return ratings, inspection_date, ids

    def _lots(self, status: str, categories: tuple[str, ...], ratings: dict) -> tuple[list[str], list[str]]:
        """The framework lots a provider is approved on, and those it is suspended on."""
        rng = self.rng
        lots: list[str] = []
        suspended: list[str] = []
        if status == "verified" and categories[0] in FRAMEWORK_CATEGORIES and (ratings["overall"] == "inadequate" or rng.random() < 0.65):
            if ratings["overall"] == "inadequate":
                suspended.append(categories[0])
            else:
                lots.append(categories[0])
                if len(categories) > 1 and categories[1] in FRAMEWORK_CATEGORIES and rng.random() < 0.5:
                    lots.append(categories[1])
        return lots, suspended


def _provider_description(name: str, kind: str, place: str, rng: random.Random) -> str:
    years = rng.randint(3, 35)
    openers = {
        "home care agency": f"{name} is a family-run home care agency that has supported people in and around {place} for {years} years.",
        "PA co-operative": f"{name} is a co-operative of self-employed personal assistants based around {place}.",
        "day service": f"{name} runs day services for older people and adults with learning disabilities, {years} years in {place}.",
        "respite service": f"{name} offers short breaks and respite in a homely setting near {place}.",
        "supported living provider": f"{name} supports adults with learning disabilities and mental health needs "
        "to live in their own homes.",
        "community charity": f"{name} is a local charity run by volunteers and a small staff team, founded {years} years ago.",
        "equipment supplier": f"{name} supplies and fits equipment that helps people stay safe and independent at home.",
        "domestic help business": f"{name} provides reliable domestic help from vetted local staff.",
        "dementia charity": f"{name} supports people living with dementia and the family and friends who care for them.",
    }
    closers = (
        "Our staff are trained to Care Certificate standard and we pay the Real Living Wage.",
        "We work with personal budget holders, direct payment users and people paying for themselves.",
        "We can usually start within a week of your first call.",
        "Every new client gets a free home visit to plan their support together.",
    )
    return openers[kind] + "\n\n" + " ".join(rng.sample(closers, 2))


def _services_for(provider: ProviderSpec, rng: random.Random) -> list[ServiceSpec]:
    categories = list(PROVIDER_KINDS[provider.kind])
    main, others = categories[0], categories[1:]
    chosen: list[tuple[str, ServiceTemplate]] = []
    main_templates = CATEGORY_SERVICES[main]
    for template in rng.sample(main_templates, min(len(main_templates), rng.randint(2, 4))):
        chosen.append((main, template))
    for category in rng.sample(others, min(len(others), rng.randint(2, 3))):
        chosen.append((category, rng.choice(CATEGORY_SERVICES[category])))

    services = []
    for category, template in chosen:
        low, high = template.price_range
        price = rng.randint(low // 10, high // 10) * 10
        funding = (True, True, True)
        roll = rng.random()
        if category == "cleaning" and roll < 0.4:
            funding = (False, True, True)  # domestic help is often outside a support plan
        elif roll < 0.1:
            funding = (True, True, False)  # council-funded people only
        elif roll < 0.18:
            funding = (False, False, True)  # private clients only
        days, opens, closes = HOURS[template.hours]
        if template.hours in ("weekdays_day", "weekdays_office") and rng.random() < 0.3:
            days = range(6)  # some open on Saturdays too
        hours = tuple((d, opens, closes) for d in days)
        note = ""
        if template.unit == "night":
            note = "Arrive from 5pm, leave by 11am."
        elif category == "meals":
            note = "Order by 4pm the day before."
        status = "published"
        if provider.status == "verified" and rng.random() < 0.035:
            status = "withdrawn"
        elif rng.random() < 0.02:
            status = "draft"
        services.append(
            ServiceSpec(
                category=category,
                title=template.title,
                description=template.description,
                unit=template.unit,
                price_pence=price,
                min_units=2 if template.unit == "hour" and category == "home-care" and rng.random() < 0.2 else template.min_units,
                funding=funding,
                hours=hours,
                availability_note=note,
                status=status,
                updated_on=ANCHOR - dt.timedelta(days=rng.randint(1, 200)),
                supports=_supports(provider.kind, template),
            )
        )
    return services


def _supports(kind: str, template: ServiceTemplate) -> tuple[str, ...]:
    """Who a listing supports: what its kind of service does, and what its provider's kind adds."""
    return tuple(dict.fromkeys(template.supports + KIND_SUPPORTS.get(kind, ())))
