"""Booked and delivered visits in a report's period, summed in SQL by whatever a report
needs, with the filters applied through each visit's booking: its type of support, the
district the care is for and the way it was paid for."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import case, func, select

from app.extensions import db
from app.models import Booking, BookingCard, BookingVisit, PaymentCard, PersonalBudget, Service
from app.services.reports.filters import ReportFilter, add_months
from app.services.reports.spend_facts import way_of_paying
from app.uk_time import local_midnight


def month_index(column, months: list[dt.date]):
    """The position in ``months`` of the UK month a moment falls in (None outside them):
    the same boundaries on SQLite and PostgreSQL, with no date functions."""
    whens = [(column < local_midnight(add_months(month, 1)), i) for i, month in enumerate(months)]
    return case(*whens, else_=None) if whens else None


def summed(f: ReportFilter, keys: dict, sums: tuple, *where) -> dict[tuple, list[int]]:
    """{key values: [each sum]} over the visits starting in the period that ``where`` allows.

    ``keys`` maps a label to an expression to group by. The way of paying is read from the
    booking's payment method, budget type and card route, grouped in SQL and folded here
    (spend_facts.way_of_paying), so visits and spend facts agree on it."""
    columns = [expression.label(label) for label, expression in keys.items()]
    columns += [expression.label(f"sum_{i}") for i, expression in enumerate(sums)]
    inner = (
        select(*columns)
        .select_from(BookingVisit)
        .join(Booking, Booking.id == BookingVisit.booking_id)
        .join(Service, Service.id == Booking.service_id)
        .where(BookingVisit.starts_at >= f.starts_at, BookingVisit.starts_at < f.ends_at, *where)
    )
    if f.category is not None:
        inner = inner.where(Service.category_id == f.category.id)
    if f.district:
        inner = inner.where(Booking.area_district == f.district)
    way_labels = []
    if f.way is not None:
        way_labels = ["pay_method", "budget_type", "card_route"]
        inner = (
            inner.add_columns(Booking.payment_method.label("pay_method"), PersonalBudget.budget_type, PaymentCard.route.label("card_route"))
            .outerjoin(PersonalBudget, PersonalBudget.id == Booking.budget_id)
            .outerjoin(BookingCard, BookingCard.booking_id == Booking.id)
            .outerjoin(PaymentCard, PaymentCard.id == BookingCard.card_id)
        )
    # Grouped outside a subquery so an expression with bound values (month_index) is
    # grouped by its name, which PostgreSQL needs.
    sub = inner.subquery()
    group = [sub.c[label] for label in [*keys, *way_labels]]
    outer = select(*group, *(func.sum(sub.c[f"sum_{i}"]) for i in range(len(sums)))).group_by(*group)
    folded: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(sums))
    for row in db.session.execute(outer):
        key = tuple(row[: len(keys)])
        if f.way is not None and way_of_paying(*row[len(keys) : len(keys) + 3]) is not f.way:
            continue
        totals = folded[key]
        for i, value in enumerate(row[len(group) :]):
            totals[i] += int(value or 0)
    return dict(folded)
