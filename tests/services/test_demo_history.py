"""The demo's year of market history: enough activity, dated across the year, for the
commissioner's market reports to show something on a fresh `flask demo load`."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AuditEvent,
    Booking,
    BookingCard,
    BookingEvent,
    BookingVisit,
    BudgetStatus,
    CardPayment,
    FundingRoute,
    Notification,
    PaymentCard,
    PaymentMethod,
    PersonalBudget,
    Provider,
    ProviderStatus,
    SearchLog,
    TurnedAwayRequest,
    User,
    VisitStatus,
)
from app.services import budgets, demo, ledger_check
from app.services.demo.history_people import HISTORY_DOMAIN
from app.services.demo.history_supply import JOINER_SLUG
from app.services.reports import catalogue, filters
from app.uk_time import local_date, uk_today

TABLES = (User, Booking, BookingVisit, BookingEvent, CardPayment, SearchLog, AuditEvent, Notification, PersonalBudget)


def _history_bookings() -> list[Booking]:
    people = select(User.id).where(User.email.like(f"%@{HISTORY_DOMAIN}"))
    return db.session.execute(select(Booking).where(Booking.citizen_id.in_(people))).scalars().all()


def _route(booking: Booking) -> str:
    if booking.payment_method is PaymentMethod.BUDGET:
        return "isf" if booking.budget.is_isf else "managed"
    card = db.session.execute(select(PaymentCard).join(BookingCard).where(BookingCard.booking_id == booking.id)).scalar_one()
    return "prepaid card" if card.route is FundingRoute.PREPAID_CARD else "self-funder"


def _counts() -> dict[str, int]:
    return {model.__tablename__: db.session.execute(select(func.count()).select_from(model)).scalar_one() for model in TABLES}


@pytest.fixture
def demo_with_history(app, snapshots):
    """The demo with its year of history (the slowest thing the suite loads): loaded once
    per backend in each test worker, then put back from a snapshot for each test here."""
    snapshots.restore_or_build(app, "demo-with-history", lambda: demo.load(demo_mode=True) and None)


def test_the_demo_has_a_year_of_market_history_that_adds_up(app, demo_with_history):
    people = db.session.execute(select(User).where(User.email.like(f"%@{HISTORY_DOMAIN}"))).scalars().all()
    assert 40 <= len(people) <= 60 and all(p.password_hash is None for p in people)  # nobody signs in as them
    history = _history_bookings()
    delivered = [v for b in history for v in b.visits if v.status is VisitStatus.DELIVERED]
    # Delivered care and searches in at least 11 different months of the past year.
    assert len({local_date(v.settled_at).replace(day=1) for v in delivered}) >= 11
    searched = db.session.execute(select(SearchLog.searched_at)).scalars().all()
    assert 3000 <= len(searched) <= 8000 and len({local_date(s).replace(day=1) for s in searched}) >= 11
    # Every way of paying has delivered spend.
    spend = defaultdict(int)
    for booking in history:
        spend[_route(booking)] += sum(v.charged_pence for v in booking.visits if v.status is VisitStatus.DELIVERED)
    assert set(spend) == {"managed", "isf", "prepaid card", "self-funder"} and all(spend.values()), dict(spend)
    # History is dated when it happened, not today.
    assert min(local_date(b.created_at) for b in history) < uk_today() - dt.timedelta(days=300)
    assert {b.status.value for b in history} >= {"completed", "declined", "cancelled"}
    assert any(v.status is VisitStatus.LATE_CANCELLED for b in history for v in b.visits)
    assert any(v.delivered_units is not None and v.delivered_units < v.units for v in delivered)
    # A provider left during the year (suspended, in the audit trail then) and one joined.
    left = db.session.execute(select(AuditEvent).where(AuditEvent.action == "provider.suspended")).scalars().all()
    assert left and all(e.occurred_at.date() < uk_today() for e in left)
    joined = db.session.execute(select(Provider).where(Provider.slug == JOINER_SLUG)).scalar_one()
    assert joined.status is ProviderStatus.VERIFIED and any(b.provider_id == joined.id for b in history)
    assert all(s.published_at.date() < uk_today() for s in joined.services)
    # Some searches found nothing (care the area lacks).
    assert db.session.execute(select(func.count()).where(SearchLog.result_count == 0)).scalar_one() > 50
    # Some budgets hold more than 8 weeks' worth unspent; one or two ended.
    held = db.session.execute(select(PersonalBudget).where(PersonalBudget.citizen_id.in_([p.id for p in people]))).scalars().all()
    assert any(budgets.summary(b).available_pence > 2 * b.amount_per_period_pence for b in held)
    assert 1 <= len([b for b in held if b.status is BudgetStatus.ENDED]) <= 2
    # History's notices were read long ago: nobody starts the demo with a year of news.
    assert db.session.execute(select(func.count()).where(Notification.read_at.is_(None))).scalar_one() < 40
    assert ledger_check.check() == []
    _reads_like_a_council_market()

    before = _counts()
    assert not demo.load(demo_mode=True).created.get("people with a year of care history")
    assert _counts() == before


def _figure(report, label: str):
    return next(f.value for f in report.figures if f.label == label)


def _table(report, slug: str):
    return next(t for t in report.tables if t.slug == slug)


def _reads_like_a_council_market() -> None:
    """The market reports read as a council's would: budgets mostly spent, a few left to
    build up; some requests turned away when full; home care's price paid drifting up with
    the listed prices; every way of paying spending in every month."""
    f = filters.default_filter()
    spent = _figure(catalogue.run("budgets", f), "Share of allocation spent")
    assert 0.6 <= spent <= 1.0, spent
    active = db.session.execute(select(PersonalBudget).where(PersonalBudget.status == BudgetStatus.ACTIVE)).scalars().all()
    over = [b for b in active if budgets.summary(b).available_pence * 4 > 8 * b.amount_per_period_pence]
    assert 0.1 <= len(over) / len(active) <= 0.4, (len(over), len(active))
    assert all(budgets.summary(b).available_pence >= 0 for b in active)

    turned_away = db.session.execute(select(TurnedAwayRequest)).scalars().all()
    assert 20 <= len(turned_away) <= 100 and all(t.reason == "fully_booked" for t in turned_away)
    assert _figure(catalogue.run("demand", f), "Requests turned away because the service was full") >= 20  # in this year's months
    rural = [t for t in turned_away if t.district in ("PE6", "PE7", "PE8", "PE9", "PE28")]
    assert len(rural) > len(turned_away) / 2

    prices = catalogue.run("prices", f)
    months = [(average, units) for _, average, units, _ in _table(prices, "trend").rows if units]
    first, last = months[:3], months[-4:-1]  # the month now is only part gone
    paid = [sum(a * u for a, u in rows) / sum(u for _, u in rows) for rows in (first, last)]
    assert paid[0] < paid[1] < paid[0] * 1.1, paid
    assert 0 < _figure(prices, "Change in the average paid per hour") < 0.1

    by_month = _table(catalogue.run("spend", f), "by-month")
    for row in by_month.rows[:-1]:  # whole months: this one has only begun
        assert all(row[1:5]), row


def test_a_refund_of_a_historic_card_payment_is_refused_with_a_clear_message_never_an_error_page(stripe_app, demo_with_history):
    """History's card payments name PaymentIntents Stripe never saw: a commissioner asking
    for a refund is told the card processor refused it, and the provider keeps the money."""
    from app.services import card_payments
    from tests.helpers import post_form, sign_in, visible_text

    payment = db.session.execute(select(CardPayment).order_by(CardPayment.id)).scalars().first()
    booking = db.session.get(Booking, payment.booking_id)
    commissioner = db.session.execute(select(User).where(User.email == "commissioner@demo.test")).scalar_one()
    client = stripe_app.test_client()
    sign_in(client, commissioner, demo.DEMO_PASSWORD)
    path = f"/commissioner/bookings/{booking.public_id}/visits/{payment.visit_id}/refund"
    assert client.get(path).status_code == 200
    response = post_form(client, path, {"amount": "1.00", "reason": "Visit was cut short"})
    assert response.status_code == 200, response.status_code
    assert "The refund could not be made" in visible_text(response)
    db.session.expire_all()
    assert card_payments.refundable_pence(db.session.get(CardPayment, payment.id)) == payment.captured_pence
    assert ledger_check.check() == []


def test_the_demo_has_reviews_some_poor_some_replied_to_some_reported_and_one_for_provider_demo_to_answer(app, demo_with_history):
    from app.database import utcnow
    from app.models import ProviderStaff, Review
    from app.services import reviews

    written = db.session.execute(select(Review)).scalars().all()
    assert len(written) >= 20
    assert {r.rating for r in written} >= {1, 2, 4, 5}  # poor reviews are published like any other
    assert any(r.replied_at is not None for r in written if r.rating <= 2) and any(r.replied_at is None for r in written if r.rating <= 2)
    assert all(r.booking.request_key.startswith("demo-history-") and r.author_id == r.citizen_id for r in written)
    assert all(r.created_at <= utcnow() and (r.replied_at is None or r.created_at < r.replied_at <= utcnow()) for r in written)
    owner = db.session.execute(select(User).where(User.email == "provider@demo.test")).scalar_one()
    mine = db.session.execute(select(ProviderStaff.provider_id).where(ProviderStaff.user_id == owner.id)).scalar_one()
    assert any(r.replied_at is None for r in reviews.for_provider(mine))
    [waiting] = reviews.open_reports()
    assert waiting.review.rating <= 2 and waiting.review.provider_id != mine
    assert [d.outcome.value for d in reviews.recent_decisions()] == ["kept"]
    shown = sum(reviews.summary(provider_id=p, now=utcnow()).count for p in {r.provider_id for r in written})
    assert 0 < shown <= len(written)
