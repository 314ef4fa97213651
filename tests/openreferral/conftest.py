"""A small market for the feed: two verified providers (one with its address published and
areas listed, one with a radius and no contact details), providers that are pending and
suspended, and listings that are published, draft and withdrawn."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from app.models import CQCRating, ProviderStatus, Service, ServiceStatus
from app.services import search

WEEKDAYS = [(d, "08:00", "18:00") for d in range(5)]
WEEKENDS = [(5, "09:00", "17:00"), (6, "22:00", "07:00")]


@dataclass
class Market:
    listed: list[Service] = field(default_factory=list)
    hidden: dict[str, Service] = field(default_factory=dict)  # draft, withdrawn, pending, suspended
    near: object = None  # provider based in PE1
    far: object = None  # provider based in PE9, reaching 5 miles


@pytest.fixture
def market(app, make_district, make_provider, make_service) -> Market:
    for code in ("PE1", "PE2", "PE3", "PE9", "PE29"):
        make_district(code)
    near = make_provider(
        name="Nene Home Care",
        base_district="PE1",
        areas=["PE1", "PE2"],
        address_line1="1 Bridge Street",
        base_postcode="PE1 1AA",
        website="https://nene.example",
        rating=CQCRating.GOOD,
    )
    far = make_provider(
        name="Stamford Helpers",
        base_district="PE9",
        areas=[],
        service_radius_miles=5,
        email=None,
        phone=None,
        rating=None,
        cqc_location_id=None,
    )
    m = Market(near=near, far=far)
    for n in range(22):
        m.listed.append(make_service(provider=near, title=f"Home care visits {n:02d}", price_pence=1800 + 10 * n, hours=WEEKDAYS))
    m.listed.append(make_service(provider=near, title="Hot meals delivered", category="meals", price_unit="item", price_pence=550))
    m.listed.append(
        make_service(provider=far, title="Weekend sitting service", hours=WEEKENDS, min_units=2, availability_note="Bank holidays too")
    )
    m.listed.append(make_service(provider=far, title="Dementia day club", category="day-opportunities", hours=[]))
    m.hidden["draft"] = make_service(provider=near, title="Home care draft", status=ServiceStatus.DRAFT)
    m.hidden["withdrawn"] = make_service(provider=near, title="Home care withdrawn", status=ServiceStatus.WITHDRAWN)
    pending = make_provider(name="Pending Care", status=ProviderStatus.PENDING)
    suspended = make_provider(name="Suspended Care", status=ProviderStatus.SUSPENDED)
    m.hidden["pending provider"] = make_service(provider=pending, title="Home care pending provider")
    m.hidden["suspended provider"] = make_service(provider=suspended, title="Home care suspended provider")
    search.rebuild()
    return m
