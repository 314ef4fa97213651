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

SEED = 20261123
# Dates in the demo market are fixed relative to this day, so the data is deterministic.
ANCHOR = dt.date(2026, 11, 1)


@dataclass(frozen=True)
class ServiceTemplate:
    title: str
    description: str
    unit: str
    price_range: tuple[int, int]  # pence, inclusive
    hours: str  # key into HOURS
    min_units: int = 1


# Weekly patterns: (weekdays, opens, closes)
HOURS = {
    "daily_long": (range(7), "07:00", "22:00"),
    "weekdays_day": (range(5), "09:30", "15:30"),
    "weekdays_office": (range(5), "09:00", "17:00"),
    "daily_lunch": (range(7), "11:30", "13:30"),
    "weekdays_lunch": (range(5), "11:30", "13:30"),
    "overnight": (range(7), "20:00", "08:00"),
    "weekends_day": (range(5, 7), "10:00", "16:00"),
    "evenings": (range(5), "18:00", "21:00"),
    "daily_day": (range(7), "08:00", "20:00"),
}

CATEGORY_SERVICES: dict[str, list[ServiceTemplate]] = {
    "home-care": [
        ServiceTemplate(
            "Home care visits",
            "Help at home with washing, dressing, meals and medication, from a regular team of carers who get to know you.",
            "hour",
            (2050, 2950),
            "daily_long",
        ),
        ServiceTemplate(
            "Personal care at home",
            "Domiciliary care for getting up, going to bed, bathing and continence care, at times that suit you.",
            "hour",
            (2100, 2990),
            "daily_long",
        ),
        ServiceTemplate(
            "Short welfare calls",
            "A quick check-in visit to make sure you are safe, have eaten and taken your medicines.",
            "visit",
            (950, 1500),
            "daily_long",
        ),
        ServiceTemplate(
            "Reablement support after hospital",
            "Short-term care at home after a stay in hospital, helping you regain confidence and independence.",
            "hour",
            (2200, 2990),
            "daily_day",
        ),
        ServiceTemplate(
            "Live-in care", "A carer who lives in your home and supports you around the clock.", "week", (95000, 135000), "daily_long"
        ),
    ],
    "personal-assistants": [
        ServiceTemplate(
            "Personal assistant support",
            "A personal assistant you choose, to help with everyday tasks, getting out and about and doing the things you enjoy.",
            "hour",
            (1300, 1800),
            "daily_day",
        ),
        ServiceTemplate(
            "PA matching and payroll service",
            "We help you find, employ and pay your own personal assistant, including payroll and insurance.",
            "week",
            (1500, 3000),
            "weekdays_office",
        ),
        ServiceTemplate(
            "Personal assistant for social outings",
            "A PA to go with you to clubs, shops, appointments and events.",
            "hour",
            (1350, 1750),
            "weekends_day",
        ),
    ],
    "day-opportunities": [
        ServiceTemplate(
            "Day centre",
            "A friendly day centre with activities, a hot lunch and company. Transport can be arranged.",
            "day",
            (4500, 7500),
            "weekdays_day",
        ),
        ServiceTemplate(
            "Community day opportunities",
            "Group activities out in the community: gardening, arts, cooking and trips.",
            "day",
            (5000, 7800),
            "weekdays_day",
        ),
        ServiceTemplate(
            "Half-day activity sessions",
            "Morning or afternoon sessions of crafts, music, exercise and games.",
            "visit",
            (2200, 3800),
            "weekdays_day",
        ),
        ServiceTemplate(
            "Work skills and volunteering programme",
            "Supported volunteering and work experience to build skills and confidence.",
            "day",
            (5500, 8500),
            "weekdays_day",
        ),
    ],
    "short-breaks": [
        ServiceTemplate(
            "Overnight respite stays",
            "Short breaks with overnight care in a homely setting, giving carers a rest.",
            "night",
            (11000, 18500),
            "overnight",
        ),
        ServiceTemplate(
            "Sitting service for carers",
            "A trained sitter stays with the person you care for so you can take a break.",
            "hour",
            (1800, 2600),
            "daily_day",
        ),
        ServiceTemplate(
            "Weekend short breaks",
            "Weekend stays with activities and personal care, booked by the night.",
            "night",
            (12000, 19500),
            "overnight",
        ),
    ],
    "supported-living": [
        ServiceTemplate(
            "Supported living support hours",
            "Support in your own tenancy to manage your home, money, health and social life.",
            "hour",
            (1850, 2450),
            "daily_long",
        ),
        ServiceTemplate(
            "Shared supported living",
            "A shared house with staff on site day and night, for people who want their own tenancy with support close by.",
            "week",
            (65000, 120000),
            "daily_long",
        ),
        ServiceTemplate(
            "Floating support", "Visits to help you keep your tenancy, pay bills and stay well.", "hour", (1900, 2500), "weekdays_office"
        ),
    ],
    "meals": [
        ServiceTemplate(
            "Hot meals delivered",
            "A hot two-course lunch delivered to your door, with a friendly check on how you are.",
            "item",
            (450, 750),
            "daily_lunch",
        ),
        ServiceTemplate(
            "Frozen meals delivery",
            "A weekly delivery of frozen ready meals, including soft and special diets.",
            "item",
            (390, 620),
            "weekdays_office",
        ),
        ServiceTemplate("Luncheon club", "A sit-down lunch with company in a community hall.", "item", (500, 850), "weekdays_lunch"),
    ],
    "transport": [
        ServiceTemplate(
            "Door-to-door community transport",
            "Accessible minibus trips to shops, day centres and appointments.",
            "visit",
            (800, 2000),
            "weekdays_office",
        ),
        ServiceTemplate(
            "Accompanied hospital transport",
            "A driver who takes you to hospital appointments and waits with you.",
            "visit",
            (1800, 4500),
            "weekdays_office",
        ),
        ServiceTemplate("Dial-a-ride", "Book a wheelchair-accessible ride for local journeys.", "visit", (600, 1400), "daily_day"),
    ],
    "equipment": [
        ServiceTemplate(
            "Grab rails and minor adaptations",
            "Fitting of grab rails, bannisters and key safes by trusted tradespeople.",
            "item",
            (2500, 9500),
            "weekdays_office",
        ),
        ServiceTemplate(
            "Mobility equipment hire",
            "Hire of wheelchairs, walking frames and riser-recliner chairs.",
            "week",
            (1200, 3500),
            "weekdays_office",
        ),
        ServiceTemplate(
            "Telecare alarm and monitoring",
            "A pendant alarm connected to a 24-hour response centre.",
            "week",
            (450, 900),
            "weekdays_office",
        ),
        ServiceTemplate(
            "Bathing aids assessment and supply",
            "An assessment at home and supply of bath lifts, shower seats and toilet frames.",
            "item",
            (3500, 35000),
            "weekdays_office",
        ),
    ],
    "advocacy": [
        ServiceTemplate(
            "Independent advocacy",
            "An independent advocate to help you have your say in decisions about your care.",
            "hour",
            (2500, 4000),
            "weekdays_office",
        ),
        ServiceTemplate(
            "Support planning",
            "Help to write your support plan and decide how to use your personal budget.",
            "hour",
            (2800, 4200),
            "weekdays_office",
        ),
        ServiceTemplate(
            "Direct payments support service",
            "Help to manage a direct payment or prepaid card, employ staff and keep records.",
            "hour",
            (2600, 3800),
            "weekdays_office",
        ),
    ],
    "befriending": [
        ServiceTemplate(
            "Befriending visits",
            "A volunteer befriender visits you at home for a chat, a cuppa and company.",
            "visit",
            (500, 1500),
            "daily_day",
        ),
        ServiceTemplate(
            "Telephone befriending", "A regular friendly phone call with a trained volunteer.", "visit", (300, 800), "daily_day"
        ),
        ServiceTemplate(
            "Community activity groups",
            "Walking groups, coffee mornings, craft clubs and singing groups across the city.",
            "visit",
            (400, 1200),
            "weekends_day",
        ),
    ],
    "cleaning": [
        ServiceTemplate(
            "Cleaning and domestic help", "Regular cleaning, laundry and ironing by vetted staff.", "hour", (1500, 2200), "daily_day"
        ),
        ServiceTemplate(
            "Shopping and errands",
            "We do your shopping or go with you, and help with errands and prescriptions.",
            "hour",
            (1550, 2100),
            "weekdays_office",
        ),
        ServiceTemplate(
            "Gardening and handy help",
            "Lawn mowing, hedge trimming and small jobs around the home.",
            "hour",
            (1800, 2500),
            "weekdays_office",
        ),
    ],
    "dementia-support": [
        ServiceTemplate(
            "Dementia day club",
            "A specialist day club for people living with dementia, with meaningful activities and lunch.",
            "day",
            (5500, 8500),
            "weekdays_day",
        ),
        ServiceTemplate(
            "Dementia sitting service",
            "A trained dementia carer stays with your relative at home while you go out.",
            "hour",
            (1900, 2700),
            "daily_day",
        ),
        ServiceTemplate(
            "Memory café", "A relaxed café for people with memory problems and their carers.", "visit", (300, 900), "weekends_day"
        ),
        ServiceTemplate(
            "Dementia home support",
            "Home care from carers trained in dementia, with consistent faces and routines.",
            "hour",
            (2200, 3000),
            "daily_long",
        ),
    ],
    "carers-support": [
        ServiceTemplate(
            "Carers' support group", "Meet other carers for support, information and a break.", "visit", (300, 900), "evenings"
        ),
        ServiceTemplate(
            "Carers' wellbeing sessions",
            "Massage, mindfulness and relaxation sessions for unpaid carers.",
            "visit",
            (1500, 3500),
            "weekends_day",
        ),
        ServiceTemplate(
            "Carers' emergency back-up",
            "A plan and a carer ready to step in if you are suddenly unable to care.",
            "hour",
            (2000, 2800),
            "daily_long",
        ),
    ],
}

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


def build_market(towns: dict[str, str], distance) -> list[ProviderSpec]:
    """The whole demo market, deterministic for a given set of districts.

    ``towns`` maps each outward code to its post town; ``distance(a, b)`` gives the miles
    between two districts' centroids.
    """
    districts = towns
    rng = random.Random(SEED)
    council_codes = [c for c in COUNCIL_DISTRICTS if c in districts]
    all_codes = sorted(districts)
    names = list(PLACE_NAMES)
    rng.shuffle(names)
    framework_categories = {"home-care", "supported-living", "short-breaks", "day-opportunities", "dementia-support"}

    providers: list[ProviderSpec] = []
    used_names: set[str] = set()
    serial = 0
    regulated_count = 0
    for kind, count in KIND_COUNTS.items():
        for n in range(count):
            serial += 1
            place = names.pop()
            suffix = KIND_SUFFIXES[kind][n % len(KIND_SUFFIXES[kind])]
            name = f"{place} {suffix}"
            if name in used_names:  # pragma: no cover - names are unique by construction
                name = f"{name} {serial}"
            used_names.add(name)
            slug = _slugify(name)

            # Most providers are based in the city; some in the neighbouring towns.
            base = rng.choice(council_codes) if rng.random() < 0.8 else rng.choice(all_codes)
            postcode = f"{base} {_inward(rng)}"
            if rng.random() < 0.6:
                nearby = sorted(c for c in all_codes if distance(base, c) <= rng.choice((4, 6, 9, 12)))
                areas, radius = tuple(nearby or [base]), None
            else:
                areas, radius = (), rng.choice((5, 8, 10, 15, 20))

            regulated = kind in REGULATED_KINDS and not (kind == "day service" and rng.random() < 0.5)
            ratings: dict[str, str | None] = dict.fromkeys(("overall", "safe", "effective", "caring", "responsive", "well_led"))
            inspection_date = None
            cqc_provider_id = cqc_location_id = None
            if regulated:
                cqc_provider_id = f"1-{100000000 + serial * 7919:09d}"
                cqc_location_id = f"1-{200000000 + serial * 104729:09d}"
                overall = RATING_SEQUENCE[regulated_count % len(RATING_SEQUENCE)]
                regulated_count += 1
                if overall:
                    ratings["overall"] = overall
                    ratings.update(_key_question_ratings(rng, overall))
                    inspection_date = ANCHOR - dt.timedelta(days=rng.randint(60, 1100))

            status = "verified"
            if serial in (7, 31):
                status = "pending"  # waiting for a commissioner to check them

            categories = PROVIDER_KINDS[kind]
            lots: list[str] = []
            suspended: list[str] = []
            if (
                status == "verified"
                and categories[0] in framework_categories
                and (ratings["overall"] == "inadequate" or rng.random() < 0.65)
            ):
                if ratings["overall"] == "inadequate":
                    suspended.append(categories[0])
                else:
                    lots.append(categories[0])
                    if len(categories) > 1 and categories[1] in framework_categories and rng.random() < 0.5:
                        lots.append(categories[1])

            town = towns[base]
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
                town=town,
                base_postcode=postcode,
                base_district=base,
                areas=areas,
                radius_miles=radius,
                cqc_provider_id=cqc_provider_id,
                cqc_location_id=cqc_location_id,
                ratings=ratings,
                inspection_date=inspection_date,
                status=status,
                framework_lots=tuple(lots),
                suspended_lots=tuple(suspended),
            )
            spec.services = _services_for(spec, rng)
            providers.append(spec)
    return providers


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
            )
        )
    return services
