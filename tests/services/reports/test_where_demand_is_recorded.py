"""What the demand reports are built on is recorded as bookings happen, and never says who:
a request the service had no room for is counted (what, where, when), and every booking
knows the postcode district its care is for."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select

from app.extensions import db
from app.models import Booking, TurnedAwayRequest
from app.services import bookings
from app.services.errors import ValidationError
from tests.services.money_helpers import future_day, request_for


def test_a_request_turned_away_for_lack_of_room_is_counted_without_who_asked(make_budget, make_service, make_district, policy):
    make_district("PE2")
    service = make_service(capacity=1, price_pence=1_500)
    a, b = make_budget(), make_budget()
    day = future_day(policy)
    bookings.create(request_for(service, a, day=day, at="10:00"), citizen=a.citizen, booker=a.citizen, policy=policy)
    with pytest.raises(ValidationError, match="fully booked"):
        bookings.create(
            request_for(service, b, day=day, at="10:00", visit_address="4 Mill Lane\nPeterborough\nPE2 5XZ"),
            citizen=b.citizen,
            booker=b.citizen,
            policy=policy,
        )
    (turned_away,) = db.session.execute(select(TurnedAwayRequest)).scalars().all()
    assert (turned_away.service_id, turned_away.category_id, turned_away.district) == (service.id, service.category_id, "PE2")
    assert {c.key for c in inspect(TurnedAwayRequest).columns} == {"id", "at", "service_id", "category_id", "district", "reason"}


def test_other_refusals_are_not_counted_as_lack_of_room(make_budget, make_service, policy):
    service = make_service(price_pence=1_500)
    budget = make_budget(amount=1_000)  # cannot afford an hour
    with pytest.raises(ValidationError):
        bookings.create(request_for(service, budget, day=future_day(policy)), citizen=budget.citizen, booker=budget.citizen, policy=policy)
    assert db.session.execute(select(TurnedAwayRequest)).first() is None


def test_a_booking_is_placed_at_its_visit_address_else_at_the_provider(make_budget, make_service, make_district, policy):
    make_district("PE3")
    service = make_service(price_pence=1_500)
    budget = make_budget()
    at_home = bookings.create(
        request_for(service, budget, day=future_day(policy), visit_address="1 High St, Werrington, pe3 6ab"),
        citizen=budget.citizen,
        booker=budget.citizen,
        policy=policy,
    )
    away = bookings.create(
        request_for(service, budget, day=future_day(policy), at="12:00"), citizen=budget.citizen, booker=budget.citizen, policy=policy
    )
    assert db.session.get(Booking, at_home.id).area_district == "PE3"
    assert db.session.get(Booking, away.id).area_district == service.provider.base_district
