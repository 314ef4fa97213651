"""What came of demand: searches followed by a booking, and booking requests that were
declined, left unanswered until they expired, turned away for lack of room or cancelled."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from app.extensions import db
from app.models import Booking, BookingEvent, BookingStatus, Role, Service, TurnedAwayRequest, User
from app.services.reports.demand_follow import FOLLOW_DAYS, followed_searches
from app.services.reports.demand_sql import way_note
from app.services.reports.filters import ReportFilter, categories
from app.services.reports.service_levels_bookings import PERSON_ROLES, booking_conditions, cancelled_visits, in_period
from app.services.reports.stats import share
from app.services.reports.tables import Chart, Column, Kind, Table

TOP_REASONS = 10
MIN_REASON_DECLINES = 5  # a reason fewer declines gave is folded into "Other reasons": free text may name someone
OTHER_REASONS = "Other reasons"


def search_to_booking(f: ReportFilter) -> Table:
    """For each search with a type of support and a district: was a booking of that type in
    that district made within a week (demand_follow.py)?"""
    counts = followed_searches(f)
    rows = [(c.name, *counts[c.id]) for c in categories() if c.id in counts]
    table = Table(
        slug="search-to-booking",
        caption="Searches followed by a booking within 7 days",
        columns=(
            Column("category", "Type of support", Kind.TEXT),
            Column("searches", "Searches", Kind.COUNT),
            Column("followed", "Followed by a booking", Kind.COUNT),
            Column("share", "Share followed by a booking", Kind.SHARE),
        ),
        rows=[(name, n, b, share(b, n)) for name, n, b in rows],
        chart=Chart(
            "bar", "category", ("share",), "Searches followed by a booking", f"Share of searches followed by a booking, {f.describe()}"
        ),
        note=(
            "Searches that named a type of support and a postcode. A search counts as followed when any booking of that type of "
            f"support, for care in the same postcode district, was made within {FOLLOW_DAYS} days after it: searches are anonymous, "
            "so this is not the same person's booking, only a sign that demand there was met." + way_note(f)
        ),
    )
    if rows:
        searches, followed = sum(r[1] for r in rows), sum(r[2] for r in rows)
        table.total = ("Total", searches, followed, share(followed, searches))
    return table


def _declined(f: ReportFilter) -> dict[int, int]:
    return _by_category(
        select(Service.category_id, func.count())
        .select_from(Booking)
        .join(Service, Service.id == Booking.service_id)
        .where(Booking.status == BookingStatus.DECLINED, *in_period(Booking.decided_at, f), *booking_conditions(f))
    )


def _expired(f: ReportFilter) -> dict[int, int]:
    """Requests no provider answered in the council's time, counted when they expired."""
    return _by_category(
        select(Service.category_id, func.count())
        .select_from(Booking)
        .join(Service, Service.id == Booking.service_id)
        .join(BookingEvent, (BookingEvent.booking_id == Booking.id) & (BookingEvent.kind == "expired"))
        .where(Booking.status == BookingStatus.EXPIRED, *in_period(BookingEvent.at, f), *booking_conditions(f))
    )


def _fully_booked(f: ReportFilter) -> dict[int, int]:
    query = select(TurnedAwayRequest.category_id, func.count()).where(*in_period(TurnedAwayRequest.at, f))
    if f.category is not None:
        query = query.where(TurnedAwayRequest.category_id == f.category.id)
    if f.district:
        query = query.where(TurnedAwayRequest.district == f.district)
    return _by_category(query)


def _bookings_cancelled(f: ReportFilter) -> dict[int, int]:
    """Bookings wholly cancelled, counted in the period of their last cancellation."""
    last = (
        select(BookingEvent.booking_id.label("booking_id"), func.max(BookingEvent.at).label("at"))
        .join(Booking, Booking.id == BookingEvent.booking_id)
        .where(BookingEvent.kind == "cancelled", Booking.status == BookingStatus.CANCELLED, *booking_conditions(f))
        .group_by(BookingEvent.booking_id)
        .subquery()
    )
    return _by_category(
        select(Service.category_id, func.count())
        .select_from(last)
        .join(Booking, Booking.id == last.c.booking_id)
        .join(Service, Service.id == Booking.service_id)
        .where(*in_period(last.c.at, f))
    )


def _visits_cancelled(f: ReportFilter) -> tuple[dict[int, int], dict[int, int]]:
    """Visits cancelled by the person and by the provider, by category: one pass over the
    cancelled visits, split by who cancelled, instead of one pass each."""
    query = cancelled_visits(f, Service.category_id, User.role, func.count(), roles=(*PERSON_ROLES, Role.PROVIDER))
    by_person: Counter[int] = Counter()
    by_provider: Counter[int] = Counter()
    for category_id, role, n in db.session.execute(query.group_by(Service.category_id, User.role)).all():
        (by_provider if role is Role.PROVIDER else by_person)[category_id] += int(n)
    return dict(by_person), dict(by_provider)


def _by_category(query) -> dict[int, int]:
    return {cid: int(n) for cid, n in db.session.execute(query.group_by(query.selected_columns[0])).all()}


def turned_away(f: ReportFilter) -> Table:
    figures = (_declined(f), _expired(f), _fully_booked(f), _bookings_cancelled(f), *_visits_cancelled(f))
    rows = [(c.name, *(counts.get(c.id, 0) for counts in figures)) for c in categories()]
    table = Table(
        slug="turned-away",
        caption="Requests declined, turned away and cancelled",
        columns=(
            Column("category", "Type of support", Kind.TEXT),
            Column("declined", "Requests declined", Kind.PEOPLE),
            Column("expired", "Requests not answered in time", Kind.PEOPLE),
            Column("full", "Turned away: fully booked", Kind.PEOPLE),
            Column("cancelled", "Bookings cancelled", Kind.PEOPLE),
            Column("by_person", "Visits cancelled by the person", Kind.PEOPLE),
            Column("by_provider", "Visits cancelled by the provider", Kind.PEOPLE),
        ),
        rows=[row for row in rows if any(row[1:])],
        chart=Chart(
            "bar",
            "category",
            # Needs the market did not meet (a chart draws at most 4 series; the person's own
            # cancellations are in the table beside it).
            ("declined", "expired", "full", "by_provider"),
            "Requests not met",
            f"Requests declined, turned away and cancelled by type of support, {f.describe()}",
        ),
        note=(
            "Declined: booking requests a provider declined in the period. Not answered in time: requests the provider neither "
            "accepted nor declined within the council's time, which expired in the period. "
            "Fully booked: booking attempts refused because the "
            "service had no room (anonymous; the way of paying filter does not apply to them). Bookings cancelled: bookings "
            "whose last visits were cancelled in the period. Visits cancelled: by the person (or someone acting for them) or "
            "by the provider's staff; bookings withdrawn because a card payment failed are not counted."
        ),
    )
    if table.rows:
        table.total = ("Total", *(sum(row[i] for row in table.rows) for i in range(1, 7)))
    return table


def decline_reasons(f: ReportFilter) -> Table:
    reason = func.lower(func.trim(Booking.decline_reason))
    grouped = db.session.execute(
        select(reason, func.count())
        .where(Booking.status == BookingStatus.DECLINED, *in_period(Booking.decided_at, f), *booking_conditions(f))
        .group_by(reason)
    ).all()
    counts: Counter[str] = Counter()
    for text, n in grouped:
        counts[" ".join((text or "").split())] += int(n)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    shown = [(text, n) for text, n in ranked if text and n >= MIN_REASON_DECLINES][:TOP_REASONS]
    other = sum(counts.values()) - sum(n for _, n in shown)
    table = Table(
        slug="decline-reasons",
        caption="Why providers declined booking requests",
        columns=(Column("reason", "Reason given", Kind.TEXT), Column("declined", "Requests declined", Kind.PEOPLE)),
        rows=shown + ([(OTHER_REASONS, other)] if other else []),
        chart=Chart("bar", "reason", ("declined",), "Reasons for declining", f"Booking requests declined by reason, {f.describe()}"),
        note=(
            f"Reasons as providers wrote them, in lower case. The {TOP_REASONS} most given are shown; a reason given for fewer than "
            f"{MIN_REASON_DECLINES} requests is counted under “{OTHER_REASONS}”, since free text may name someone."
        ),
    )
    if counts:
        table.total = ("Total", sum(counts.values()))
    return table
