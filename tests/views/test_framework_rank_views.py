"""Providers see each listing's framework rank and why, updated as soon as a price
changes, and for a listing that is not ranked, why not; commissioners see a lot's ranking
follow their decisions at once. Ranking itself is ``app.services.ranking``."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import MembershipStatus, PriceUnit, ProviderStatus, ServiceStatus
from tests.helpers import post_form, sign_in, table_rows, visible_text
from tests.services.test_search import index  # noqa: F401 - the index fixture, used by name


def _listing(service, price):
    return {
        "title": service.title,
        "category_id": service.category_id,
        "description": service.description,
        "price": price,
        "price_unit": "hour",
        "min_units": "1",
        "funding_routes": ["personal_budget"],
    }


def test_a_provider_sees_its_rank_and_why_and_it_follows_its_price(
    app, make_provider, make_provider_staff, make_service, make_lot, make_membership, make_commissioner
):
    lot = make_lot("home-care", quality_weight=50, price_weight=50)
    ours, theirs = make_provider(name="Ours"), make_provider(name="Theirs")
    make_membership(lot, ours)
    make_membership(lot, theirs)
    service = make_service(provider=ours, category="home-care", price_pence=3000, price_unit=PriceUnit.HOUR)
    other = make_service(provider=theirs, category="home-care", price_pence=2000, price_unit=PriceUnit.HOUR)
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
    # Every line of the lot's ranking names its service and provider.
    ranking = [row[:3] for row in table_rows(council.get(f"/commissioner/framework/lots/{lot.id}")) if row[0].endswith(("st", "nd"))]
    assert ranking == [["1st", service.title, "Ours"], ["2nd", other.title, "Theirs"]]
    membership = next(m for m in ours.memberships)
    post_form(council, f"/commissioner/framework/lots/{lot.id}/memberships/{membership.id}/suspend", {"reason": "Late returns"})
    db.session.expire_all()
    assert "Not ranked: the council has suspended your organisation on the Home care framework lot" in visible_text(
        client.get(f"/provider/services/{service.id}")
    )
    ranking = [row[:3] for row in table_rows(council.get(f"/commissioner/framework/lots/{lot.id}")) if row[0].endswith(("st", "nd"))]
    assert ranking == [["1st", other.title, "Theirs"]]


def _unranked_case(case, make_provider, make_service, make_lot, make_membership):
    lot = make_lot("home-care")
    provider_status = {"pending": ProviderStatus.PENDING, "rejected": ProviderStatus.REJECTED, "suspended": ProviderStatus.SUSPENDED}.get(
        case, ProviderStatus.VERIFIED
    )
    provider = make_provider(name="Ours", status=provider_status, status_reason="Test" if case in ("rejected", "suspended") else None)
    if case != "not a member":
        membership = make_membership(lot, provider)
        if case == "suspended on the lot":
            membership.status = MembershipStatus.SUSPENDED
            membership.reason = "Late returns"
            db.session.commit()
    service_status = {"draft": ServiceStatus.DRAFT, "withdrawn": ServiceStatus.WITHDRAWN}.get(case, ServiceStatus.PUBLISHED)
    return provider, make_service(provider=provider, category="home-care", status=service_status)


@pytest.mark.parametrize(
    "case, says",
    [
        ("draft", "Not ranked: this listing is a draft. It is ranked once you publish it."),
        ("withdrawn", "Not ranked: this listing is withdrawn."),
        ("pending", "Not ranked: the council has not verified your organisation yet."),
        ("rejected", "Not ranked: the council did not verify your organisation."),
        ("suspended", "Not ranked: the council has suspended your organisation, so none of its listings are shown or ranked."),
        ("not a member", "Not ranked: your organisation is not on the council's Home care framework lot"),
        ("suspended on the lot", "Not ranked: the council has suspended your organisation on the Home care framework lot."),
    ],
)
def test_an_unranked_listing_says_why_on_the_providers_own_pages(
    app, make_provider, make_provider_staff, make_service, make_lot, make_membership, case, says
):
    provider, service = _unranked_case(case, make_provider, make_service, make_lot, make_membership)
    client = app.test_client()
    sign_in(client, make_provider_staff(provider))
    assert says in visible_text(client.get(f"/provider/services/{service.id}"))
    assert says in visible_text(client.get("/provider/services"))


def test_a_listing_with_no_lot_for_its_kind_of_care_says_so(app, make_provider, make_provider_staff, make_service):
    provider = make_provider(name="Ours")
    service = make_service(provider=provider, category="home-care")
    client = app.test_client()
    sign_in(client, make_provider_staff(provider))
    assert "Not ranked: the council's framework has no lot for home care." in visible_text(client.get(f"/provider/services/{service.id}"))


def test_a_commissioner_counts_reviews_in_a_lots_quality_and_everyone_sees_why(
    app,
    index,  # noqa: F811
    make_provider,
    make_service,
    make_lot,
    make_membership,
    make_commissioner,
):
    """The lot's page sets the share of quality from reviews and the minimum; bad values are
    explained; the change is audited and shows at once on the lot's ranking, the service's
    public page and search."""
    from app.models import AuditEvent, CQCRating
    from tests.services.test_search_reviews import given_reviews

    lot = make_lot("home-care", quality_weight=60, price_weight=40)
    ours, theirs = make_provider(name="Ours", rating=CQCRating.GOOD), make_provider(name="Theirs", rating=CQCRating.GOOD)
    make_membership(lot, ours)
    make_membership(lot, theirs)
    given_reviews(make_service(provider=ours, title="Few fives", category="home-care", price_pence=2000), 5, 5, 5)
    many = given_reviews(make_service(provider=theirs, title="Many good", category="home-care", price_pence=2000), *([5] * 8 + [4] * 2))
    council = app.test_client()
    sign_in(council, make_commissioner())
    edit = f"/commissioner/framework/lots/{lot.id}/edit"
    form = visible_text(council.get(edit))
    assert "Share of quality from reviews (%)" in form and "Minimum number of reviews" in form
    weights = {"name": lot.name, "quality_weight": "60", "price_weight": "40"}
    bad = visible_text(post_form(council, edit, {**weights, "review_weight": "120", "review_minimum": ""}))
    assert "Enter a share of quality from reviews between 0 and 100" in bad or "Enter the minimum number of reviews" in bad
    bad = visible_text(post_form(council, edit, {**weights, "review_weight": "20", "review_minimum": "-1"}))
    assert "Enter a minimum number of reviews between 0 and 1,000" in bad
    db.session.refresh(lot)
    assert (lot.review_weight, lot.review_minimum) == (0, 10)

    post_form(council, edit, {**weights, "review_weight": "20", "review_minimum": "5"})
    db.session.refresh(lot)
    assert (lot.review_weight, lot.review_minimum) == (20, 5)
    event = db.session.execute(db.select(AuditEvent).where(AuditEvent.action == "framework.lot_weights_changed")).scalar_one()
    assert (event.before["review_weight"], event.after["review_weight"], event.after["review_minimum"]) == (0, 20, 5)

    # Lot: 15 + 48 = 63 from 13 reviews. Few: 20 x (5 x 63 + 15 x 13) / (13 x 8) = 10200/104 = 98.08 -> 98;
    # many: 20 x (5 x 63 + 48 x 13) / (13 x 15) = 18780/195 = 96.31 -> 96. Quality 83.6 -> 84 and 83.2 -> 83.
    page = visible_text(council.get(f"/commissioner/framework/lots/{lot.id}"))
    assert "20%, weighed with 5 reviews’ worth of the lot’s average" in page
    rows = [row for row in table_rows(council.get(f"/commissioner/framework/lots/{lot.id}")) if row[0].endswith(("st", "nd"))]
    assert [(row[1], row[3], row[4]) for row in rows] == [("Few fives", "84", "5.0 from 3"), ("Many good", "83", "4.8 from 10")]

    public = visible_text(app.test_client().get(f"/services/{many.id}"))
    assert "Quality 83/100: CQC Good (80%), people who used it 4.8/5 from 10 reviews (20%)." in public
    results = visible_text(app.test_client().get("/search?sort=reviews&min_review_rating=4"))
    assert "Reviews by people who used it: 4.8 out of 5 from 10 reviews" in results
    # Sorted by reviews weighed with 5 reviews' worth of the average of all (63/13 = 4.85):
    # few (5 x 63/13 + 15) / 8 = 4.90, many (5 x 63/13 + 48) / 15 = 4.82.
    assert results.index("Few fives") < results.index("Many good")
    assert "4 stars or more (2)" in results
