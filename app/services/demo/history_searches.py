"""A year of the anonymous search log for the demo: what people looked for, by category and
postcode district, more in winter, a little more as the year goes on (more people find
the marketplace), and fewer at weekends and at night.

Running thousands of real searches would take minutes, so each row's ``result_count`` is
worked out from the market itself: how many published services of that category serve
that district (fewer with a price limit or words to match). Some searches are for care
the area lacks ("night sitting", "Polish speaking carer"): they find nothing, or one or
two near misses. Like the real log (``search.log``) a row holds a postcode district only,
never anything about who searched; rows are written in bulk, not one search at a time.

The log of requests turned away because the service was full (``TurnedAwayRequest``,
anonymous like the search log) is written the same way: booking past moments on full
services would take far longer than the rows are worth.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

from sqlalchemy import insert, select

from app.database import write_transaction
from app.extensions import db
from app.models import (
    Category,
    FundingRoute,
    Provider,
    ProviderArea,
    ProviderStatus,
    SearchChannel,
    SearchLog,
    Service,
    ServiceStatus,
    TurnedAwayRequest,
)
from app.services.demo.places import COUNCIL_DISTRICTS, DISTRICTS
from app.uk_time import UK

SEARCHES_A_DAY = 13  # on an ordinary weekday in spring
# More searches in the cold months (hospital discharges, families visiting at Christmas).
MONTH_WEIGHT = {1: 1.45, 2: 1.35, 3: 1.15, 4: 1.0, 5: 0.9, 6: 0.8, 7: 0.8, 8: 0.75, 9: 0.95, 10: 1.05, 11: 1.2, 12: 1.4}
# How often people look for each category (home care most).
CATEGORY_WEIGHT = {
    "home-care": 30,
    "dementia-support": 12,
    "day-opportunities": 10,
    "short-breaks": 8,
    "personal-assistants": 8,
    "cleaning": 7,
    "meals": 6,
    "befriending": 5,
    "transport": 5,
    "supported-living": 4,
    "carers-support": 4,
    "equipment": 4,
    "advocacy": 3,
}
WORDS = {
    "home-care": ("", "", "carer", "home care", "morning calls", "help getting dressed"),
    "dementia-support": ("", "dementia", "memory", "dementia carer"),
    "day-opportunities": ("", "day centre", "lunch club"),
    "short-breaks": ("", "respite", "overnight respite"),
    "personal-assistants": ("", "personal assistant", "PA"),
    "cleaning": ("", "cleaner", "housework"),
}
# Care the area lacks: searched for, with little or nothing to find.
GAPS = ("night sitting", "dementia day care", "Polish speaking carer", "live-in carer", "Punjabi speaking carer", "autism support")
GAP_DISTRICTS = ("PE1", "PE2", "PE4", "PE6", "PE7", "PE8", "PE13", "PE15")


def _supply() -> Counter:
    """Published services of verified providers, by (category, district they serve)."""
    rows = db.session.execute(
        select(Category.slug, ProviderArea.outward_code)
        .select_from(Service)
        .join(Category, Category.id == Service.category_id)
        .join(Provider, Provider.id == Service.provider_id)
        .join(ProviderArea, ProviderArea.provider_id == Provider.id)
        .where(Service.status == ServiceStatus.PUBLISHED, Provider.status == ProviderStatus.VERIFIED)
    ).all()
    return Counter((slug, code) for slug, code in rows)


def load_searches(rng: random.Random, first: dt.date, until: dt.datetime) -> int:
    """Write a year of searches, day by day, from ``first`` to ``until``; returns how many."""
    supply = _supply()
    districts = [code for code, *_ in DISTRICTS]
    district_weights = [4 if code in COUNCIL_DISTRICTS else 1 for code in districts]
    categories, weights = list(CATEGORY_WEIGHT), list(CATEGORY_WEIGHT.values())
    rows = []
    days = (until.astimezone(UK).date() - first).days
    for offset in range(days):
        day = first + dt.timedelta(days=offset)
        growth = 0.8 + 0.4 * offset / max(days, 1)
        expected = SEARCHES_A_DAY * MONTH_WEIGHT[day.month] * growth * (0.6 if day.weekday() >= 5 else 1.0)
        for _ in range(_how_many(rng, expected)):
            moment = dt.datetime.combine(day, dt.time(rng.choice(HOURS), rng.randrange(60), rng.randrange(60)), tzinfo=UK)
            if rng.random() < 0.07:
                rows.append(_gap_search(rng, moment))
            else:
                category = rng.choices(categories, weights)[0]
                district = rng.choices(districts, district_weights)[0] if rng.random() < 0.85 else None
                rows.append(_search(rng, moment, category, district, supply))
    with write_transaction():
        for start in range(0, len(rows), 1000):
            db.session.execute(insert(SearchLog), rows[start : start + 1000])
    return len(rows)


# Hours people search at: the working day mostly, some evenings.
HOURS = (8, 9, 9, 10, 10, 10, 11, 11, 11, 12, 13, 14, 14, 15, 15, 16, 17, 18, 19, 20, 21)


def _how_many(rng: random.Random, expected: float) -> int:
    return max(0, round(rng.gauss(expected, expected**0.5)))


def _search(rng: random.Random, moment: dt.datetime, category: str, district: str | None, supply: Counter) -> dict:
    found = supply[(category, district)] if district else sum(n for (slug, _), n in supply.items() if slug == category) // 3
    words = rng.choice(WORDS.get(category, ("",)))
    max_price = None
    if words:
        found = found * rng.choice((5, 7, 8, 10)) // 10
    if rng.random() < 0.12:
        max_price = rng.choice((2000, 2500, 3000, 5000))
        found = found * rng.choice((3, 5, 6)) // 10
    funding = rng.choice((None, None, None, FundingRoute.PERSONAL_BUDGET, FundingRoute.SELF_FUNDER, FundingRoute.PREPAID_CARD))
    return _row(moment, words, category, district, found, max_price=max_price, funding=funding, rng=rng)


def _gap_search(rng: random.Random, moment: dt.datetime) -> dict:
    words = rng.choice(GAPS)
    found = rng.choice((0, 0, 0, 0, 1, 2))  # nothing, or a near miss on another word
    category = "dementia-support" if words.startswith("dementia") else None
    return _row(moment, words, category, rng.choice(GAP_DISTRICTS), found, rng=rng)


def _row(moment, words, category, district, found, *, rng: random.Random, max_price=None, funding=None) -> dict:
    return {
        "searched_at": moment.astimezone(dt.UTC),
        "words": words,
        "category_slug": category,
        "postcode_district": district,
        "radius_miles": rng.choice((10, 10, 10, 5, 20)) if district else None,
        "max_price_pence": max_price,
        "min_cqc_rating": None,
        "funding": funding,
        "days": "",
        "framework_only": rng.random() < 0.04,
        "sort": rng.choice(("best_match", "best_match", "best_match", "price", "distance")),
        "result_count": max(0, found),
        "channel": SearchChannel.API if rng.random() < 0.05 else SearchChannel.WEB,
    }


# Turned away when full: home care and night or weekend support most, in the rural districts
# most (fewer carers to go round), and more in winter.
TURNED_AWAY_A_DAY = 0.1
FULL_CATEGORIES = {
    "home-care": 10,
    "short-breaks": 4,
    "dementia-support": 3,
    "personal-assistants": 2,
    "supported-living": 2,
    "day-opportunities": 1,
}
RURAL = {"PE6": 5, "PE7": 3, "PE8": 5, "PE9": 4, "PE28": 4}


def load_turned_away(rng: random.Random, first: dt.date, until: dt.datetime) -> int:
    """Write a year of requests turned away because the service was full; returns how many."""
    offered = _offered()
    categories = [c for c in FULL_CATEGORIES if any(key[0] == c for key in offered)]
    districts = sorted({district for _, district in offered})
    rows = []
    for offset in range((until.astimezone(UK).date() - first).days):
        day = first + dt.timedelta(days=offset)
        for _ in range(_how_many(rng, TURNED_AWAY_A_DAY * MONTH_WEIGHT[day.month] ** 2)):
            category = rng.choices(categories, [FULL_CATEGORIES[c] for c in categories])[0]
            choices = [d for d in districts if (category, d) in offered]
            district = rng.choices(choices, [RURAL.get(d, 1) for d in choices])[0]
            service_id, category_id = rng.choice(offered[(category, district)])
            moment = dt.datetime.combine(day, dt.time(rng.choice(HOURS), rng.randrange(60)), tzinfo=UK).astimezone(dt.UTC)
            rows.append({"at": moment, "service_id": service_id, "category_id": category_id, "district": district})
    with write_transaction():
        if rows:
            db.session.execute(insert(TurnedAwayRequest), rows)
    return len(rows)


def _offered() -> dict[tuple[str, str], list[tuple[int, int]]]:
    """(category, district) -> [(service id, category id)] of the published services that serve it."""
    rows = db.session.execute(
        select(Category.slug, ProviderArea.outward_code, Service.id, Category.id)
        .select_from(Service)
        .join(Category, Category.id == Service.category_id)
        .join(ProviderArea, ProviderArea.provider_id == Service.provider_id)
        .join(Provider, Provider.id == Service.provider_id)
        .where(Service.status == ServiceStatus.PUBLISHED, Provider.status == ProviderStatus.VERIFIED, Category.slug.in_(FULL_CATEGORIES))
        .order_by(Service.id, ProviderArea.outward_code)
    ).all()
    offered: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for slug, district, service_id, category_id in rows:
        offered.setdefault((slug, district), []).append((service_id, category_id))
    return offered
