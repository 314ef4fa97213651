"""Providers see each listing's framework rank and why, updated as soon as a price
changes; commissioners see a lot's ranking follow their decisions at once.

Ranking itself is issue 3's ``app.services.ranking`` (service_rank, service_ranks,
lot_ranking); these tests run wherever that module is present."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import PriceUnit
from tests.helpers import post_form, sign_in, visible_text

pytest.importorskip("app.services.ranking", reason="framework ranking (app.services.ranking) comes with issue 3")


def _listing(service, price):
    return {"title": service.title, "category_id": service.category_id, "description": service.description, "price": price,
            "price_unit": "hour", "min_units": "1", "funding_routes": ["personal_budget"]}


def test_a_provider_sees_its_rank_and_why_and_it_follows_its_price(app, make_provider, make_provider_staff, make_service, make_lot, make_membership, make_commissioner):
    lot = make_lot("home-care", quality_weight=50, price_weight=50)
    ours, theirs = make_provider(name="Ours"), make_provider(name="Theirs")
    make_membership(lot, ours)
    make_membership(lot, theirs)
    service = make_service(provider=ours, category="home-care", price_pence=3000, price_unit=PriceUnit.HOUR)
    make_service(provider=theirs, category="home-care", price_pence=2000, price_unit=PriceUnit.HOUR)
    client = app.test_client()
    sign_in(client, make_provider_staff(ours))

    page = visible_text(client.get(f"/provider/services/{service.id}"))
    assert "Ranked 2nd of 2 on the Home care framework" in page
    assert "Why it ranks there" in page and "lowest on this framework lot of £20" in page
    assert "Ranked 2nd of 2" in visible_text(client.get("/provider/services"))

    post_form(client, f"/provider/services/{service.id}/edit", _listing(service, "19.00"))
    page = visible_text(client.get(f"/provider/services/{service.id}"))
    assert "Ranked 1st of 2 on the Home care framework" in page

    council = app.test_client()
    sign_in(council, make_commissioner())
    assert "Ranked 1st of 2" in visible_text(council.get(f"/commissioner/framework/lots/{lot.id}"))
    membership = next(m for m in ours.memberships)
    post_form(council, f"/commissioner/framework/lots/{lot.id}/memberships/{membership.id}/suspend", {"reason": "Late returns"})
    db.session.expire_all()
    assert "This listing is not ranked on a council framework lot" in visible_text(client.get(f"/provider/services/{service.id}"))
    assert "Ranked 1st of 1" in visible_text(council.get(f"/commissioner/framework/lots/{lot.id}"))
