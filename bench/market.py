"""A synthetic regional care market for the search benchmark: N services from N/10
providers over 400 postcode districts, shaped like the demo market (same kinds of
services, prices, hours, CQC ratings, framework lots and people supported), written with
bulk inserts."""

from __future__ import annotations

import datetime as dt
import math
import os
import random
import time

from sqlalchemy import insert, select

from app.extensions import db
from app.models import (
    Category,
    Framework,
    FrameworkLot,
    FrameworkMembership,
    PeopleGroup,
    PostcodeDistrict,
    Provider,
    ProviderArea,
    Service,
    ServiceHours,
    SupportedGroup,
)
from app.services.demo.catalogue import KIND_SUFFIXES, KIND_SUPPORTS, PLACE_NAMES, PROVIDER_KINDS, RATING_SEQUENCE
from app.services.demo.service_templates import CATEGORY_SERVICES, HOURS
from app.services.geo import miles_between

AREA_LETTERS = ("BA", "BB", "BC", "BD", "BE")
DISTRICTS = 400
LOTS = {"home-care": 60, "supported-living": 60, "short-breaks": 70, "day-opportunities": 60, "dementia-support": 70}
NOW = dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)


def district_codes() -> list[str]:
    return [f"{AREA_LETTERS[i // 99]}{i % 99 + 1}" for i in range(DISTRICTS)]


def generate(services: int, *, seed: int = 7, progress=print) -> dict:
    rng = random.Random(seed)
    conn = db.session.connection()

    codes = district_codes()
    side = int(math.sqrt(DISTRICTS))
    places = {}
    for i, code in enumerate(codes):
        lat = 52.0 + (i // side) / side * 1.0 + rng.uniform(-0.01, 0.01)
        lon = -1.0 + (i % side) / side * 1.5 + rng.uniform(-0.01, 0.01)
        places[code] = (lat, lon)
    conn.execute(
        insert(PostcodeDistrict),
        [
            {"outward_code": c, "latitude": la, "longitude": lo, "post_town": f"Town {i % 120 + 1}", "local_authority": "Bench"}
            for i, (c, (la, lo)) in enumerate(places.items())
        ],
    )
    near = {c: [d for d in codes if miles_between(*places[c], *places[d]) <= 6] for c in codes}

    categories = {c.slug: c.id for c in db.session.execute(select(Category)).scalars()}
    framework_id = conn.execute(
        insert(Framework).returning(Framework.id),
        [{"name": "Bench framework", "description": "", "starts_on": dt.date(2025, 4, 1), "created_at": NOW, "updated_at": NOW}],
    ).scalar_one()
    lots = {}
    for slug, quality in LOTS.items():
        lots[slug] = conn.execute(
            insert(FrameworkLot).returning(FrameworkLot.id),
            [
                {
                    "framework_id": framework_id,
                    "category_id": categories[slug],
                    "name": slug.replace("-", " ").capitalize(),
                    "quality_weight": quality,
                    "price_weight": 100 - quality,
                    "review_weight": 20,
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            ],
        ).scalar_one()

    n_providers = max(1, services // 10)
    kinds = list(PROVIDER_KINDS)
    provider_rows, area_rows, membership_rows, kinds_of = [], [], [], []
    for n in range(1, n_providers + 1):
        kind = kinds[n % len(kinds)]
        base = rng.choice(codes)
        rating = RATING_SEQUENCE[n % len(RATING_SEQUENCE)] if kind not in ("equipment supplier", "domestic help business") else None
        regulated = rating is not None or n % 11 == 0
        by_radius = rng.random() < 0.4
        provider_rows.append(
            {
                "id": n,
                "slug": f"bench-{n}",
                "name": f"{rng.choice(PLACE_NAMES)} {KIND_SUFFIXES[kind][n % len(KIND_SUFFIXES[kind])]} {n}",
                "description": "",
                "base_postcode": f"{base} 1AA",
                "base_district": base,
                "town": f"Town {n % 120 + 1}",
                "service_radius_miles": rng.choice((5, 8, 10, 15, 20)) if by_radius else None,
                "cqc_location_id": f"1-{n:09d}" if regulated else None,
                "cqc_overall": rating,
                "cqc_safe": rating,
                "cqc_effective": rating,
                "cqc_caring": rating,
                "cqc_responsive": rating,
                "cqc_well_led": rating,
                "status": "verified",
                "created_at": NOW,
                "updated_at": NOW,
            }
        )
        if not by_radius:
            area_rows.extend({"provider_id": n, "outward_code": c} for c in near[base])
        main = PROVIDER_KINDS[kind][0]
        if main in lots and rating != "inadequate" and rng.random() < 0.5:
            membership_rows.append({"lot_id": lots[main], "provider_id": n, "status": "approved", "decided_at": NOW})
        kinds_of.append(kind)
    _bulk(conn, Provider, provider_rows)
    _bulk(conn, ProviderArea, area_rows)
    _bulk(conn, FrameworkMembership, membership_rows)
    progress(f"  {n_providers:,} providers, {len(area_rows):,} areas, {len(membership_rows):,} framework memberships")

    service_rows, hour_rows, support_rows = [], [], []
    said = random.Random(seed + 1)  # reviews: their own generator, so the rest of the market is as before
    who = random.Random(seed + 2)  # people supported: their own generator too
    for sid in range(1, services + 1):
        pid = (sid - 1) % n_providers + 1
        kind = kinds_of[pid - 1]
        slug = rng.choice(PROVIDER_KINDS[kind]) if rng.random() < 0.4 else PROVIDER_KINDS[kind][0]
        template = rng.choice(CATEGORY_SERVICES[slug])
        low, high = template.price_range
        roll = rng.random()
        service_rows.append(
            {
                "id": sid,
                "provider_id": pid,
                "category_id": categories[slug],
                "title": template.title,
                "description": template.description,
                "price_pence": rng.randint(low // 10, high // 10) * 10,
                "price_unit": template.unit,
                "min_units": template.min_units,
                "accepts_personal_budget": roll >= 0.1,
                "accepts_prepaid_card": roll >= 0.05,
                "accepts_self_funder": roll < 0.9,
                "availability_note": "",
                "status": "published" if rng.random() > 0.03 else "withdrawn",
                "published_at": NOW,
                "created_at": NOW,
                "updated_at": NOW,
                **_reviews(said),
            }
        )
        days, opens, closes = HOURS[template.hours]
        hour_rows.extend(
            {"service_id": sid, "weekday": d, "opens_at": dt.time.fromisoformat(opens), "closes_at": dt.time.fromisoformat(closes)}
            for d in days
        )
        support_rows.extend({"service_id": sid, "people_group": group} for group in _supports(who, kind, template.supports))
    _bulk(conn, Service, service_rows)
    _bulk(conn, ServiceHours, hour_rows)
    _bulk(conn, SupportedGroup, support_rows)
    progress(f"  {services:,} services, {len(hour_rows):,} opening-hours rows, {len(support_rows):,} groups of people supported")
    if db.session.get_bind().dialect.name == "postgresql":
        for table in ("providers", "services", "service_hours", "framework_memberships"):
            conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
    db.session.commit()
    if db.session.get_bind().dialect.name == "postgresql":
        # As after any bulk load: give the planner statistics for the new rows.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as autocommit:
            autocommit.exec_driver_sql("ANALYZE")
    return {"districts": codes, "places": places}


def _reviews(rng: random.Random) -> dict[str, int]:
    """Published review totals: about half the services have some (1 to 60), averaging 1 to 5."""
    if rng.random() < 0.45:
        return {"review_count": 0, "review_sum": 0}
    count = rng.randint(1, 60)
    return {"review_count": count, "review_sum": min(5 * count, max(count, round(count * rng.triangular(1, 5, 4.3))))}


def _supports(rng: random.Random, kind: str, groups: tuple[str, ...]) -> list[str]:
    """Who a service supports: its kind's groups, as in the demo, now and then one fewer or
    one more."""
    chosen = list(dict.fromkeys(groups + KIND_SUPPORTS.get(kind, ())))
    if len(chosen) > 1 and rng.random() < 0.2:
        chosen.pop(rng.randrange(len(chosen)))
    extra = rng.choice([g.value for g in PeopleGroup])
    if rng.random() < 0.2 and extra not in chosen:
        chosen.append(extra)
    return chosen


def _bulk(conn, model, rows: list[dict], chunk: int = 20_000) -> None:
    for i in range(0, len(rows), chunk):
        conn.execute(insert(model.__table__), rows[i : i + chunk])


def edit_listings(url: str, index_dir: str, service_ids: list[int], stop, counter, interval: float) -> None:
    """Another process, as a provider's worker would be: every ``interval`` seconds, change
    one listing's price and commit (its own drain then writes the index)."""
    os.environ["APP_ENV"] = "development"
    from app import create_app
    from app.database import write_transaction
    from app.models import Service

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SEARCH_INDEX_DIR": index_dir})
    with app.app_context():
        n = 0
        while not stop.is_set():
            started = time.monotonic()
            service_id = service_ids[n % len(service_ids)]
            with write_transaction() as session:
                service = session.get(Service, service_id)
                service.price_pence = service.price_pence + (10 if n % 2 == 0 else -10)
            n += 1
            counter.value = n
            stop.wait(max(0.0, interval - (time.monotonic() - started)))
