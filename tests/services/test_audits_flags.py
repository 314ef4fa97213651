"""The two risk flags built from what happened to a person's care: visits cancelled too late
(and so charged) and card payments that failed. Each is raised from its threshold up, with
a reason that says how many and in which year, and not below it."""

from __future__ import annotations

import datetime as dt

import pytest

from app.models import FundingRoute, Role
from app.services import audits, bookings
from app.services.card_payments import CardDeclined
from app.uk_time import uk_today
from tests.payments_fixtures import DECLINED_ON_CHARGE_CARD, book_by_card
from tests.services.money_helpers import future_day, request_for

PRICE = 2_000  # an hour's visit


@pytest.fixture
def care(make_provider, make_provider_staff, make_service, make_citizen, make_budget):
    """Alice's budget, and a home care provider that has accepted her bookings."""
    provider = make_provider(name="Nene Valley Home Care")
    staff = make_provider_staff(provider)
    service = make_service(provider=provider, title="Home care visits", price_pence=PRICE, capacity=5)
    citizen = make_citizen(name="Alice Citizen")
    return {"staff": staff, "service": service, "citizen": citizen, "budget": make_budget(citizen=citizen, amount=50_000)}


def book_and_cancel(care, policy, *, at: str, hours_before: int):
    """An accepted one-hour visit at ``at``, cancelled by Alice ``hours_before`` it starts;
    returns the visit's start."""
    booking = bookings.create(
        request_for(care["service"], care["budget"], day=future_day(policy), at=at),
        citizen=care["citizen"],
        booker=care["citizen"],
        policy=policy,
    )
    bookings.accept(booking, by=care["staff"])
    starts = booking.visits[0].starts_at
    plan = bookings.cancel(booking, by=care["citizen"], policy=policy, now=starts - dt.timedelta(hours=hours_before))
    assert len(plan.charged) == (1 if hours_before < policy.cancellation_notice_hours else 0)
    return starts


def codes(budget, year: int) -> dict[str, str]:
    return dict(audits.flags_for([budget], year).get(budget.id, []))


def test_late_cancellations_flag_a_budget_from_the_third_charged_visit(app, care, policy, make_commissioner):
    """Two visits cancelled late are not a pattern; a third is. A visit cancelled in good
    time (free) never counts, and nothing counts towards another year."""
    budget = care["budget"]
    assert audits.LATE_CANCELLATIONS == 3
    year = book_and_cancel(care, policy, at="08:00", hours_before=2).year
    book_and_cancel(care, policy, at="10:00", hours_before=3)
    book_and_cancel(care, policy, at="12:00", hours_before=policy.cancellation_notice_hours + 24)  # in good time: free
    assert "late_cancellations" not in codes(budget, year)  # two charged: below the threshold

    book_and_cancel(care, policy, at="14:00", hours_before=1)
    assert codes(budget, year)["late_cancellations"] == f"3 visits cancelled late and charged in {year} (£60)"
    book_and_cancel(care, policy, at="16:00", hours_before=1)
    assert codes(budget, year)["late_cancellations"] == f"4 visits cancelled late and charged in {year} (£80)"
    assert codes(budget, year - 1) == {}

    # The year's sample takes the budget in for it, whatever the random draw.
    if year <= uk_today().year:
        sample = audits.draw(year, by=make_commissioner(), seed=1)
        [picked] = [a for a in sample.audits if a.budget_id == budget.id]
        assert "4 visits cancelled late and charged" in " ".join(flag.reason for flag in picked.flags)


def test_failed_card_payments_flag_every_budget_of_the_person_from_the_second(app, save_card, make_budget, make_user, make_service):
    """Bob has a personal budget and pays for some care with a card his bank keeps declining.
    One failed payment is not a pattern; a second is, and it flags his budget (the payments
    are his, not one budget's). Someone else's failures never count against him."""
    assert audits.CARD_FAILURES == 2
    service = make_service(price_pence=PRICE, capacity=5, accepts_self_funder=True, accepts_prepaid_card=True)
    bob, carol = make_user(Role.CITIZEN, name="Bob Citizen"), make_user(Role.CITIZEN, name="Carol Citizen")
    budget, other = make_budget(citizen=bob), make_budget(citizen=carol)
    bad_card = save_card(bob, DECLINED_ON_CHARGE_CARD)
    carols_card = save_card(carol, DECLINED_ON_CHARGE_CARD)
    year = uk_today().year

    def declined(card, citizen, key):
        with pytest.raises(CardDeclined):
            book_by_card(service, card, citizen=citizen, key=key)

    declined(bad_card, bob, "bob-1")
    declined(carols_card, carol, "carol-1")
    declined(carols_card, carol, "carol-2")
    assert "card_failures" not in codes(budget, year)  # one of his: below the threshold
    assert codes(other, year)["card_failures"] == f"2 card payments for their care failed in {year}"

    declined(bad_card, bob, "bob-2")
    assert codes(budget, year)["card_failures"] == f"2 card payments for their care failed in {year}"
    declined(bad_card, bob, "bob-3")
    assert codes(budget, year)["card_failures"] == f"3 card payments for their care failed in {year}"
    assert codes(budget, year - 1) == {}
    assert codes(other, year)["card_failures"] == f"2 card payments for their care failed in {year}"  # still only hers


def test_a_prepaid_card_that_fails_counts_too(app, save_card, make_budget, make_user, make_service):
    """Dev's council prepaid card (his budget's money) is declined twice: the flag is the same."""
    service = make_service(price_pence=PRICE, capacity=5, accepts_self_funder=True, accepts_prepaid_card=True)
    dev = make_user(Role.CITIZEN, name="Dev Citizen")
    budget = make_budget(citizen=dev)
    card = save_card(dev, DECLINED_ON_CHARGE_CARD, route=FundingRoute.PREPAID_CARD)
    for key in ("dev-1", "dev-2"):
        with pytest.raises(CardDeclined):
            book_by_card(service, card, citizen=dev, key=key)
    assert codes(budget, uk_today().year)["card_failures"] == f"2 card payments for their care failed in {uk_today().year}"
