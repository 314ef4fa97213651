"""The anonymous search log (what was looked for, where, and how much was found) and the
booking attempts turned away because a service was full, at moments spread over the year.
"""

from __future__ import annotations

import datetime as dt
import random

from app.uk_time import UK
from bench.reports_market_calendar import Calendar, local
from bench.reports_market_catalogue import CATEGORY_WEIGHTS, weighted
from bench.reports_market_copy import Tables

SEARCH_WORDS = (
    "", "", "", "", "home care", "dementia", "respite", "day centre", "cleaner", "meals", "night sitting", "personal assistant",
    "transport to hospital", "polish speaking carer", "befriending", "carer support", "supported living", "hoist", "live-in care",
)  # fmt: skip


SEARCH_COLUMNS = (
    "id searched_at words category_slug postcode_district radius_miles max_price_pence min_cqc_rating funding days framework_only "
    "sort result_count channel"
)


def _moment(rng: random.Random, cal: Calendar) -> dt.datetime:
    """A moment in the year, more often in daytime hours."""
    day = (cal.span_start + (cal.now - cal.span_start) * rng.random()).astimezone(UK).date()
    moment = local(day, rng.triangular(6, 23, 13))
    return min(moment, cal.now - dt.timedelta(minutes=1))


def searches(t: Tables, rng: random.Random, count: int, council: list, districts: list, catalogue: dict, cal: Calendar) -> None:
    """The anonymous search log: a type of support, a postcode district and words, or some of
    them; a few find nothing, or fewer than three services."""
    slugs, weights = zip(*CATEGORY_WEIGHTS.items(), strict=True)
    for n in range(1, count + 1):
        slug = rng.choices(slugs, weights=weights)[0] if rng.random() < 0.7 else None
        district = (rng.choice(council) if rng.random() < 0.85 else rng.choice(districts)) if rng.random() < 0.65 else None
        words = rng.choice(SEARCH_WORDS)
        roll = rng.random()
        found = 0 if roll < 0.07 else rng.randint(1, 2) if roll < 0.17 else int(rng.triangular(3, 150, 20))
        t.add(
            "search_logs",
            SEARCH_COLUMNS,
            (n, _moment(rng, cal), words, slug, district, rng.choice((5, 10, 10, 15, 25)) if district else None,
             rng.choice((None, None, None, 2000, 2500, 3000)), rng.choice((None,) * 8 + ("good", "outstanding")),
             rng.choice((None,) * 6 + ("personal_budget", "prepaid_card", "self_funder")), rng.choice(("",) * 8 + ("saturday,sunday",)),
             rng.random() < 0.05, rng.choice(("best_match",) * 6 + ("distance", "price")), found, "web" if rng.random() < 0.95 else "api"),
        )  # fmt: skip


def turned_away(t: Tables, rng: random.Random, count: int, council: list, catalogue: dict, cal: Calendar) -> None:
    """Booking attempts refused because the service was full: what, where and when."""
    for n in range(1, count + 1):
        service = weighted(rng, catalogue["all"], catalogue["weights"])
        row = (n, _moment(rng, cal), service[0], service[2], rng.choice(council), "fully_booked")
        t.add("turned_away_requests", "id at service_id category_id district reason", row)
