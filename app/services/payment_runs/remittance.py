"""Remittance advice: what one payment to one provider was for, visit by visit, with the
adjustments and their reasons, so no provider ever has to send an invoice or chase one."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from sqlalchemy import func, select

from app.extensions import db
from app.formatting import format_date
from app.models import (
    Booking,
    BookingVisit,
    LedgerEntry,
    LedgerTransaction,
    PaymentRunItem,
    PaymentRunLine,
    PriceUnit,
    Service,
    VisitRecord,
)
from app.uk_time import local_date


@dataclass(frozen=True)
class RemittanceRow:
    visit_id: int
    day: dt.datetime
    booking_reference: str
    service: str
    planned: str
    paid: str
    rate_pence: int
    price_unit: str
    amount_pence: int


@dataclass(frozen=True)
class Adjustment:
    day: dt.datetime
    booking_reference: str
    reason: str
    amount_pence: int


@dataclass(frozen=True)
class Remittance:
    line: PaymentRunLine
    rows: list[RemittanceRow]
    adjustments: list[Adjustment]

    @property
    def total_pence(self) -> int:
        return sum(r.amount_pence for r in self.rows) + sum(a.amount_pence for a in self.adjustments)


def _units(count: int | None, unit: PriceUnit, minutes: int | None = None) -> str:
    if unit is PriceUnit.HOUR and minutes is not None:
        hours, left = divmod(minutes, 60)
        return f"{hours}h {left:02d}m"
    if count is None:
        return ""
    return f"{count} {unit.value}{'s' if count != 1 else ''}"


def remittance(line: PaymentRunLine) -> Remittance:
    visits = db.session.execute(
        select(
            BookingVisit,
            Booking.reference,
            Booking.price_unit,
            Booking.unit_price_pence,
            Service.title,
            VisitRecord.paid_units_minutes,
            func.sum(PaymentRunItem.amount_pence),
        )
        .join(PaymentRunItem, PaymentRunItem.visit_id == BookingVisit.id)
        .join(Booking, Booking.id == BookingVisit.booking_id)
        .join(Service, Service.id == Booking.service_id)
        .outerjoin(VisitRecord, VisitRecord.visit_id == BookingVisit.id)
        .where(PaymentRunItem.line_id == line.id, PaymentRunItem.is_adjustment.is_(False))
        .group_by(
            BookingVisit.id, Booking.reference, Booking.price_unit, Booking.unit_price_pence, Service.title, VisitRecord.paid_units_minutes
        )
        .order_by(BookingVisit.starts_at, BookingVisit.id)
    ).all()
    rows = [
        RemittanceRow(
            visit_id=visit.id,
            day=visit.starts_at,
            booking_reference=reference,
            service=title,
            planned=_units(visit.units, unit),
            paid=_units(
                visit.delivered_units,
                unit,
                minutes if visit.delivered_units is not None and visit.charged_pence < visit.amount_pence else None,
            ),
            rate_pence=rate,
            price_unit=unit.value,
            amount_pence=int(amount),
        )
        for visit, reference, unit, rate, title, minutes, amount in visits
    ]
    adjustments = [
        Adjustment(day=starts_at, booking_reference=reference, reason=memo, amount_pence=amount)
        for starts_at, reference, memo, amount in db.session.execute(
            select(BookingVisit.starts_at, Booking.reference, LedgerTransaction.memo, PaymentRunItem.amount_pence)
            .join(BookingVisit, BookingVisit.id == PaymentRunItem.visit_id)
            .join(Booking, Booking.id == BookingVisit.booking_id)
            .join(LedgerEntry, LedgerEntry.id == PaymentRunItem.entry_id)
            .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
            .where(PaymentRunItem.line_id == line.id, PaymentRunItem.is_adjustment.is_(True))
            .order_by(BookingVisit.starts_at, PaymentRunItem.entry_id)
        ).all()
    ]
    return Remittance(line, rows, adjustments)


def _pounds(pence: int) -> str:
    sign = "-" if pence < 0 else ""
    return f"{sign}{abs(pence) // 100}.{abs(pence) % 100:02d}"


def _cell(text: str) -> str:
    """Text a spreadsheet will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def remittance_csv(advice: Remittance) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    line = advice.line
    writer.writerow(["Remittance advice", _cell(line.provider.name), line.reference, f"Paid on {format_date(line.run.pay_date)}"])
    writer.writerow(["Date", "Booking reference", "Service", "Planned", "Paid", "Rate (£)", "Unit", "Amount (£)", "Reason"])
    for row in advice.rows:
        writer.writerow(
            [
                local_date(row.day).isoformat(),
                row.booking_reference,
                _cell(row.service),
                row.planned,
                row.paid,
                _pounds(row.rate_pence),
                row.price_unit,
                _pounds(row.amount_pence),
                "",
            ]
        )
    for adj in advice.adjustments:
        writer.writerow(
            [
                local_date(adj.day).isoformat(),
                adj.booking_reference,
                "Adjustment",
                "",
                "",
                "",
                "",
                _pounds(adj.amount_pence),
                _cell(adj.reason),
            ]
        )
    writer.writerow(["Total", "", "", "", "", "", "", _pounds(advice.total_pence), ""])
    return out.getvalue()
