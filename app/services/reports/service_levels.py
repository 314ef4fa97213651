"""Providers' service: how many booking requests each provider received, how quickly it
answered them and enquiries, how many it accepted, how many visits it cancelled, and how
quickly the council paid it after delivery.

Counts here are of a provider's requests, which identify nobody, so they are plain counts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.database import utcnow
from app.extensions import db
from app.models import Provider
from app.services.reports.filters import ReportFilter
from app.services.reports.service_levels_payments import INVOICE_DAYS, days_to_pay
from app.services.reports.service_levels_queries import (
    Requests,
    answer_hours,
    enquiry_reply_hours,
    provider_cancellations,
    requests_by_provider,
)
from app.services.reports.stats import share
from app.services.reports.tables import Chart, Column, Figure, Kind, Report, Table

SLOWEST = 20


def _hours(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


def _slowest_first(row) -> tuple:
    return (row[2] is None, -(row[2] or 0), row[0])


def by_provider(f: ReportFilter, requests: dict[int, Requests], answer, cancelled, replies) -> Table:
    names = dict(db.session.execute(select(Provider.id, Provider.name).where(Provider.id.in_(list(requests)))).all())
    rows = [
        (names[p], r.received, _hours(answer[0].get(p)), share(r.accepted, r.decided), cancelled.get(p, 0), _hours(replies[0].get(p)))
        for p, r in requests.items()
    ]
    table = Table(
        slug="by-provider",
        caption="Providers' service",
        columns=(
            Column("provider", "Provider", Kind.TEXT),
            Column("requests", "Booking requests", Kind.COUNT),
            Column("answer_hours", "Median hours to answer", Kind.NUMBER),
            Column("accepted", "Accepted", Kind.SHARE),
            Column("cancelled", "Visits cancelled by the provider", Kind.COUNT),
            Column("reply_hours", "Median hours to reply to an enquiry", Kind.NUMBER),
        ),
        rows=sorted(rows, key=_slowest_first),
        note=(
            "Providers with booking requests made in the period, slowest to answer first. Hours to answer: from the request to "
            "the provider accepting or declining it. Accepted: of the requests answered, those accepted (whatever became of them "
            "after). Visits cancelled: visits the provider's staff cancelled in the period. Enquiries: from the first message "
            "to the provider's first reply; the district and way of paying filters do not apply to enquiries. Days from delivery "
            "to payment: in the table below"
        ),
    )
    if rows:
        received, decided, accepted = (sum(getattr(r, name) for r in requests.values()) for name in ("received", "decided", "accepted"))
        table.total = ("All providers", received, _hours(answer[1]), share(accepted, decided), sum(cancelled.values()), _hours(replies[1]))
    return table


def slowest(f: ReportFilter, table: Table) -> Table:
    answered = [row for row in table.rows if row[2] is not None][:SLOWEST]
    return Table(
        slug="slowest",
        caption=f"The {SLOWEST} providers slowest to answer booking requests",
        columns=(
            Column("provider", "Provider", Kind.TEXT),
            Column("answer_hours", "Median hours to answer", Kind.NUMBER),
            Column("requests", "Booking requests", Kind.COUNT),
        ),
        rows=[(row[0], row[2], row[1]) for row in answered],
        chart=Chart(
            "bar", "provider", ("answer_hours",), "Median hours to answer", f"Providers slowest to answer requests, {f.describe()}"
        ),
        note="The providers with the longest median time from a booking request to their answer; every provider is in the table above.",
    )


def _figures(table: Table, paid: Table) -> list[Figure]:
    total = table.total or ("", 0, None, None, 0, None)
    paid_total = paid.total or ("", 0, 0, None, 0)
    return [
        Figure("Booking requests", total[1], Kind.COUNT),
        Figure("Median hours to answer a request", total[2], Kind.NUMBER),
        Figure("Requests accepted", total[3], Kind.SHARE, "of those answered"),
        Figure("Median hours to reply to an enquiry", total[5], Kind.NUMBER),
        Figure("Days from delivery to payment", paid_total[3], Kind.NUMBER, f"Paying by invoice, Milton Keynes took {INVOICE_DAYS}"),
    ]


def build(f: ReportFilter, *, now: dt.datetime | None = None) -> Report:
    table = by_provider(f, requests_by_provider(f), answer_hours(f), provider_cancellations(f), enquiry_reply_hours(f))
    paid = days_to_pay(f)
    return Report(
        slug="service",
        title="Providers' service",
        summary=(
            "How quickly providers answer booking requests and enquiries, how many requests they accept, how often they cancel, "
            "and how quickly the council pays them after delivery."
        ),
        figures=_figures(table, paid),
        tables=[table, slowest(f, table), paid],
        calculated_at=now or utcnow(),
    )
