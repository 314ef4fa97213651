"""Bookings as the market reports filter them, and who cancelled a visit.

The report filters apply to a booking through its service's type of support, its area
district and its way of paying (the payment method, the budget's type and the card's
route, the same attribution spend facts make). Conditions are correlated subqueries on
``Booking`` so that a caller can add them to any query that has bookings in it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, exists, select
from sqlalchemy.sql import ColumnElement

from app.models import (
    Booking,
    BookingCard,
    BookingVisit,
    BudgetType,
    FundingRoute,
    PaymentCard,
    PaymentMethod,
    PersonalBudget,
    Role,
    Service,
    User,
    VisitStatus,
    WayOfPaying,
)
from app.services.reports.filters import ReportFilter

# Whose cancellation counts as the person's: the person themselves or someone acting for them.
PERSON_ROLES = (Role.CITIZEN, Role.REPRESENTATIVE)
CANCELLED_VISITS = (VisitStatus.CANCELLED, VisitStatus.LATE_CANCELLED)


def way_condition(way: WayOfPaying) -> ColumnElement[bool]:
    """Bookings paid the given way."""
    prepaid = exists(
        select(BookingCard.booking_id)
        .join(PaymentCard, PaymentCard.id == BookingCard.card_id)
        .where(BookingCard.booking_id == Booking.id, PaymentCard.route == FundingRoute.PREPAID_CARD)
    )
    if way in (WayOfPaying.MANAGED, WayOfPaying.ISF):
        budget_type = BudgetType.ISF if way is WayOfPaying.ISF else BudgetType.MANAGED_ACCOUNT
        budgets = select(PersonalBudget.id).where(PersonalBudget.budget_type == budget_type)
        return and_(Booking.payment_method == PaymentMethod.BUDGET, Booking.budget_id.in_(budgets))
    if way is WayOfPaying.DIRECT_PAYMENT:
        return and_(Booking.payment_method != PaymentMethod.BUDGET, prepaid)
    return and_(Booking.payment_method != PaymentMethod.BUDGET, ~prepaid)


def booking_conditions(f: ReportFilter) -> list[ColumnElement[bool]]:
    """The filter's type of support, district and way of paying, as conditions on Booking."""
    conditions: list[ColumnElement[bool]] = []
    if f.category is not None:
        conditions.append(Booking.service_id.in_(select(Service.id).where(Service.category_id == f.category.id)))
    if f.district:
        conditions.append(Booking.area_district == f.district)
    if f.way is not None:
        conditions.append(way_condition(f.way))
    return conditions


def cancelled_visits(f: ReportFilter, *columns, roles: tuple[Role, ...]) -> select:
    """Visits cancelled in the period by someone with one of ``roles`` (``settled_by`` is who
    cancelled; visits withdrawn when a card payment failed have nobody and are not counted),
    selecting ``columns`` from Booking, BookingVisit and Service."""
    return (
        select(*columns)
        .select_from(BookingVisit)
        .join(Booking, Booking.id == BookingVisit.booking_id)
        .join(Service, Service.id == Booking.service_id)
        .join(User, User.id == BookingVisit.settled_by_id)
        .where(
            BookingVisit.status.in_(CANCELLED_VISITS),
            BookingVisit.settled_at >= f.starts_at,
            BookingVisit.settled_at < f.ends_at,
            User.role.in_(roles),
            *booking_conditions(f),
        )
    )


def in_period(column, f: ReportFilter) -> list[ColumnElement[bool]]:
    return [column >= f.starts_at, column < f.ends_at]


def hours_between(start: dt.datetime, end: dt.datetime) -> float:
    return (end - start).total_seconds() / 3600
