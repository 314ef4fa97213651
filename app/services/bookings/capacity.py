"""Capacity: each service takes a number of people at once, counted in time cells.

A place is taken with one conditional update over all of a visit's cells, so two people
can never both take the last place."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from functools import lru_cache

from sqlalchemy import Integer, bindparam, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.database import UTCDateTime
from app.extensions import db
from app.formatting import format_datetime
from app.models import (
    Booking,
    BookingVisit,
    CapacityCell,
    PriceUnit,
    Service,
)
from app.services.errors import ValidationError
from app.uk_time import local_date, local_midnight

CELL = dt.timedelta(minutes=15)


class FullyBooked(ValidationError):
    """The service has no room at a time asked for: the request is turned away."""


def capacity_cells(service_unit: PriceUnit, starts_at: dt.datetime, ends_at: dt.datetime, units: int) -> list[dt.datetime]:
    """The time cells a visit takes one place in."""
    if service_unit is PriceUnit.HOUR:
        cells, at = [], starts_at
        while at < ends_at:
            cells.append(at)
            at += CELL
        return cells
    if service_unit is PriceUnit.VISIT:
        return [starts_at]
    day = local_date(starts_at)
    if service_unit in (PriceUnit.DAY, PriceUnit.NIGHT):
        return [local_midnight(day + dt.timedelta(days=i)).astimezone(dt.UTC) for i in range(units)]
    if service_unit is PriceUnit.WEEK:
        monday = day - dt.timedelta(days=day.weekday())
        return [local_midnight(monday + dt.timedelta(weeks=i)).astimezone(dt.UTC) for i in range(units)]
    return [local_midnight(day).astimezone(dt.UTC)]  # items: one delivery a day


def take_places(service: Service, visit: BookingVisit) -> None:
    """Take one place in each of the visit's cells, or none (``take_places_for_visits``)."""
    take_places_for_visits(service, [visit])


def take_places_for_visits(service: Service, visits: list[BookingVisit]) -> None:
    """Take one place in each cell of each visit, or none: one upsert over all the cells,
    in time order, is the capacity check. A cell nobody has booked is added with its place
    taken; a booked one gains a place only ``WHERE used < capacity``, tested on the row
    as it is once locked (PostgreSQL re-checks a row another booking changed meanwhile;
    SQLite holds the write lock), so two people can never both take the last place.
    Raises FullyBooked (the caller's unit of work rolls back the places taken)."""
    table = CapacityCell.__table__
    # A cell two visits of one series share (days booked back to back) takes two places.
    wanted = Counter(cell for visit in visits for cell in capacity_cells(service.price_unit, visit.starts_at, visit.ends_at, visit.units))
    cells = sorted(wanted)
    taken = []
    if max(wanted.values()) <= service.capacity:
        params = {"service_id": service.id, "capacity": service.capacity}
        if db.session.get_bind().dialect.name == "postgresql":
            statement = _TAKE_ON_POSTGRESQL
            params |= {"starts_at": cells, "used": [wanted[cell] for cell in cells]}
        else:
            statement = _take_on_sqlite(len(cells))
            params |= {
                f"{name}_{i}": value for i, cell in enumerate(cells) for name, value in (("starts_at", cell), ("used", wanted[cell]))
            }
        taken = db.session.execute(statement, params).all()
    if len(taken) != len(cells):
        full = (
            db.session.execute(
                select(table.c.starts_at)
                .where(table.c.service_id == service.id, table.c.starts_at.in_(cells), table.c.used >= service.capacity)
                .order_by(table.c.starts_at)
            )
            .scalars()
            .first()
        )
        # Raising rolls the whole unit of work back, including the places just taken.
        raise FullyBooked(
            {"start_time": f"{service.provider.name} is fully booked at {format_datetime(full or cells[0])}. Choose another time or day"}
        )


# PostgreSQL takes the cells' times and places as arrays: one statement whatever the number of
# cells, written out (SQLAlchemy does not cache a compiled INSERT ... ON CONFLICT, so built
# with it the statement would be compiled again for every booking).
_TAKE_ON_POSTGRESQL = (
    text(
        "INSERT INTO capacity_cells (service_id, starts_at, capacity, used) "
        "SELECT :service_id, cells.starts_at, :capacity, cells.used "
        "FROM unnest(CAST(:starts_at AS TIMESTAMP WITH TIME ZONE[]), CAST(:used AS INTEGER[])) AS cells (starts_at, used) "
        "ON CONFLICT (service_id, starts_at) DO UPDATE SET capacity = excluded.capacity, used = capacity_cells.used + excluded.used "
        "WHERE capacity_cells.used + excluded.used <= excluded.capacity "
        "RETURNING capacity_cells.starts_at"
    )
    .bindparams(
        bindparam("service_id", type_=Integer),
        bindparam("capacity", type_=Integer),
        bindparam("starts_at", type_=ARRAY(UTCDateTime())),
        bindparam("used", type_=ARRAY(Integer)),
    )
    .columns(starts_at=UTCDateTime())
)


@lru_cache(maxsize=64)
def _take_on_sqlite(cells: int):
    """The upsert that takes the places on SQLite, which has no arrays: a statement per number
    of cells (built once each), each row's values named by position."""
    table = CapacityCell.__table__
    service_id, capacity = bindparam("service_id", type_=table.c.service_id.type), bindparam("capacity", type_=table.c.capacity.type)
    statement = sqlite_insert(table).values(
        [
            {
                "service_id": service_id,
                "starts_at": bindparam(f"starts_at_{i}", type_=table.c.starts_at.type),
                "capacity": capacity,
                "used": bindparam(f"used_{i}", type_=Integer),
            }
            for i in range(cells)
        ]
    )
    return statement.on_conflict_do_update(
        index_elements=["service_id", "starts_at"],
        set_={"used": table.c.used + statement.excluded.used, "capacity": statement.excluded.capacity},
        where=table.c.used + statement.excluded.used <= statement.excluded.capacity,
    ).returning(table.c.starts_at)


def release_places(booking: Booking, visit: BookingVisit) -> None:
    table = CapacityCell.__table__
    for cell in capacity_cells(booking.price_unit, visit.starts_at, visit.ends_at, visit.units):
        db.session.execute(
            update(table)
            .where(table.c.service_id == booking.service_id, table.c.starts_at == cell, table.c.used > 0)
            .values(used=table.c.used - 1)
        )
