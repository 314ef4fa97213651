"""How quickly providers are paid: days from a visit to the day its payment reached the
provider's bank, over the payment runs paid in the report's period (each run line keeps its
visits' mean, so this is a weighted mean of those)."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import LineStatus, PaymentRun, PaymentRunLine, Provider
from app.services.reports.filters import ReportFilter
from app.services.reports.tables import Column, Kind, Table

# Milton Keynes paid providers 34 days after their invoice, on average, before it paid on
# what was delivered instead (see ../shared/DOMAIN.md): the figure to beat.
INVOICE_DAYS = 34


def _paid_lines(f: ReportFilter):
    return (
        select(
            PaymentRunLine.provider_id,
            func.count().label("payments"),
            func.sum(PaymentRunLine.visit_count).label("visits"),
            func.sum(PaymentRunLine.mean_days_to_pay * PaymentRunLine.visit_count).label("visit_days"),
            func.sum(PaymentRunLine.net_pence).label("paid"),
        )
        .join(PaymentRun, PaymentRun.id == PaymentRunLine.run_id)
        .where(
            PaymentRunLine.status == LineStatus.PAID,
            PaymentRunLine.mean_days_to_pay.is_not(None),
            PaymentRun.pay_date >= f.first_month,
            PaymentRun.pay_date < f.ends_at.date(),
        )
        .group_by(PaymentRunLine.provider_id)
    )


def _days(visit_days, visits) -> float | None:
    return round(float(visit_days) / visits, 1) if visits else None


def days_to_pay(f: ReportFilter) -> Table:
    rows_by_provider = db.session.execute(_paid_lines(f)).all()
    names = dict(db.session.execute(select(Provider.id, Provider.name).where(Provider.id.in_([r[0] for r in rows_by_provider]))).all())
    rows = sorted(
        (
            (names[p], payments, int(visits or 0), _days(days or 0, visits), int(paid or 0))
            for p, payments, visits, days, paid in rows_by_provider
        ),
        key=lambda row: (row[3] is None, -(row[3] or 0), row[0]),
    )
    table = Table(
        slug="days-to-pay",
        caption="Days from delivery to payment",
        columns=(
            Column("provider", "Provider", Kind.TEXT),
            Column("payments", "Payments", Kind.COUNT),
            Column("visits", "Visits paid", Kind.COUNT),
            Column("days", "Mean days from visit to money in the bank", Kind.NUMBER),
            Column("paid", "Paid", Kind.PENCE),
        ),
        rows=rows,
        note=(
            "Payment runs whose money reached providers' banks in the period: for each visit paid, the days from the visit to "
            f"that day, averaged. Paying by invoice, Milton Keynes took {INVOICE_DAYS} days from invoice to payment on average."
        ),
    )
    if rows:
        visits = sum(r[2] for r in rows)
        visit_days = sum((r[3] or 0) * r[2] for r in rows)
        table.total = ("All providers", sum(r[1] for r in rows), visits, _days(visit_days, visits), sum(r[4] for r in rows))
    return table
