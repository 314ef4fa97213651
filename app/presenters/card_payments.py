"""What the pages show about card payments: each visit's card money on a booking page,
the card statement, and the council's prepaid card spend (with their CSV downloads)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field

from flask import Response

from app.formatting import format_pence
from app.models import (
    Booking,
    BookingVisit,
    CardPayment,
    CardPaymentStatus,
    CardRefund,
    FundingRoute,
    PaymentCard,
    PaymentMethod,
    RefundStatus,
    VisitStatus,
)
from app.presenters.csv_export import plain_pounds, safe_cell
from app.services import card_payments

# What each way of paying by card is called on the checkout, the card pages and the reports.
ROUTE_LABELS = {
    FundingRoute.PREPAID_CARD: "Council prepaid card (direct payment)",
    FundingRoute.SELF_FUNDER: "Your own debit or credit card",
}
# "You are paying ..." on the checkout, for each way of paying by card.
PAYING_WITH = {
    FundingRoute.PREPAID_CARD: "You are paying with your council prepaid card (your direct payment).",
    FundingRoute.SELF_FUNDER: "You are paying with your own debit or credit card.",
}
REPORT_ROUTE_LABELS = {
    FundingRoute.PREPAID_CARD: "Council prepaid card (direct payment)",
    FundingRoute.SELF_FUNDER: "Own money (self-funder)",
}


def card_label(card: PaymentCard) -> str:
    """'Visa credit card ending 4242 (council prepaid card)'."""
    kind = "council prepaid card" if card.route is FundingRoute.PREPAID_CARD else "own card"
    return f"{card.description} ({kind})"


def card_timing(starts_at: dt.datetime, now: dt.datetime) -> str:
    """When a visit booked by card is paid, in the words of the checkout."""
    if starts_at - now <= card_payments.AUTHORISE_WITHIN:
        return "Reserved on your card now, taken when delivered"
    return "Charged to your card when delivered"


# A card booking's money, visit by visit ---------------------------------------------------------


@dataclass
class VisitMoney:
    visit: BookingVisit
    reserved_pence: int = 0  # authorised on the card, not taken
    paid_pence: int = 0
    refunded_pence: int = 0
    refund_pending_pence: int = 0
    refundable_pence: int = 0
    owed_pence: int = 0
    failure: str | None = None  # why the last payment failed, while money is owed
    awaiting_bank: CardPayment | None = None  # the card holder must confirm with their bank

    @property
    def summary(self) -> str:
        """One line for a visits table: what the card has done for this visit."""
        parts = []
        if self.owed_pence:
            parts.append(f"{format_pence(self.owed_pence)} to pay")
        if self.awaiting_bank is not None:
            parts.append(f"{format_pence(self.awaiting_bank.amount_pence)} waiting for the card holder’s bank to confirm")
        if self.reserved_pence:
            parts.append(f"{format_pence(self.reserved_pence)} reserved on card")
        if self.paid_pence:
            parts.append(f"{format_pence(self.paid_pence)} paid by card")
        if self.refunded_pence:
            parts.append(f"{format_pence(self.refunded_pence)} refunded")
        if self.refund_pending_pence:
            parts.append(f"{format_pence(self.refund_pending_pence)} refund in progress")
        if not parts:
            if self.visit.status is VisitStatus.SCHEDULED:
                return "Charged when delivered"
            return "Nothing charged"
        return ", ".join(parts)


@dataclass
class BookingMoney:
    card: PaymentCard
    visits: list[VisitMoney]
    refunds: list[CardRefund] = field(default_factory=list)

    def for_visit(self, visit: BookingVisit) -> VisitMoney:
        return next(v for v in self.visits if v.visit.id == visit.id)

    @property
    def owed(self) -> list[VisitMoney]:
        return [v for v in self.visits if v.owed_pence]

    @property
    def owed_pence(self) -> int:
        return sum(v.owed_pence for v in self.visits)

    @property
    def paid_pence(self) -> int:
        return sum(v.paid_pence for v in self.visits)

    @property
    def refunded_pence(self) -> int:
        return sum(v.refunded_pence for v in self.visits)

    @property
    def refund_pending_pence(self) -> int:
        """Refunds asked for that the card processor has not confirmed yet."""
        return sum(r.amount_pence for r in self.refunds if r.status is RefundStatus.PENDING)

    @property
    def awaiting_bank(self) -> list[CardPayment]:
        return [v.awaiting_bank for v in self.visits if v.awaiting_bank is not None]


def booking_money(booking: Booking) -> BookingMoney | None:
    """The card money of a card booking (None for a booking paid from a budget)."""
    if booking.payment_method is not PaymentMethod.CARD:
        return None
    card = card_payments.booking_card(booking)
    if card is None:
        return None
    payments = card_payments.payments_for_booking(booking)
    refunds = card_payments.refunds_for_booking(booking)
    pending_by_payment: dict[int, int] = {}
    for refund in refunds:
        if refund.status is RefundStatus.PENDING:
            pending_by_payment[refund.card_payment_id] = pending_by_payment.get(refund.card_payment_id, 0) + refund.amount_pence
    visits = []
    for visit in booking.visits:
        money = VisitMoney(visit)
        mine = [p for p in payments if p.visit_id == visit.id]
        for payment in mine:
            if payment.status is CardPaymentStatus.AUTHORISED:
                money.reserved_pence += payment.amount_pence
            elif payment.status is CardPaymentStatus.REQUIRES_ACTION:
                money.awaiting_bank = payment
            elif payment.status is CardPaymentStatus.CAPTURED:
                money.paid_pence += payment.captured_pence
                money.refunded_pence += payment.refunded_pence
                money.refund_pending_pence += pending_by_payment.get(payment.id, 0)
                money.refundable_pence += card_payments.refundable_pence(payment)
        if visit.status is VisitStatus.UNPAID:
            money.owed_pence = card_payments.amount_owed(visit)
            failed = [p for p in mine if p.status is CardPaymentStatus.FAILED]
            money.failure = failed[-1].failure_message if failed else None
        visits.append(money)
    return BookingMoney(card, visits, refunds)


# The card statement ---------------------------------------------------------------------------


def statement_csv(user, lines: list[card_payments.CardStatementLine]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Card statement", user.name])
    writer.writerow(["Date", "What happened", "Card", "Reserved", "Reservation released", "Paid", "Refunded"])
    for line in lines:
        writer.writerow(
            [
                line.at.date().isoformat(),
                safe_cell(line.description),
                line.card,
                plain_pounds(line.authorised_pence) if line.authorised_pence else "",
                plain_pounds(line.released_pence) if line.released_pence else "",
                plain_pounds(line.paid_pence) if line.paid_pence else "",
                plain_pounds(line.refunded_pence) if line.refunded_pence else "",
            ]
        )
    writer.writerow(
        ["Total", "", "", "", "", plain_pounds(sum(x.paid_pence for x in lines)), plain_pounds(sum(x.refunded_pence for x in lines))]
    )
    return _csv_response(out.getvalue(), "card-statement.csv")


# What prepaid card holders spend ----------------------------------------------------------------


@dataclass(frozen=True)
class SpendReport:
    rows: list[card_payments.SpendRow]
    # Council prepaid card spend by direct-payment recipient (the citizen) and card holder, most first.
    holders: list[card_payments.PrepaidSpend]

    @property
    def recipients(self) -> int:
        """How many citizens' direct payments were spent by prepaid card."""
        return len({row.citizen.id for row in self.holders})

    def total(self, route: FundingRoute | None = None) -> int:
        return sum(r.net_pence for r in self.rows if route is None or r.route is route)

    @property
    def prepaid_pence(self) -> int:
        return self.total(FundingRoute.PREPAID_CARD)

    @property
    def own_money_pence(self) -> int:
        return self.total(FundingRoute.SELF_FUNDER)

    @property
    def payments(self) -> int:
        return sum(r.payments for r in self.rows)


def spend_report() -> SpendReport:
    rows = sorted(card_payments.card_spend(), key=lambda r: (r.route.value, r.funding.value))
    holders = sorted(card_payments.prepaid_card_holders_spend(), key=lambda row: (-row.net_pence, row.citizen.name, row.holder.name))
    return SpendReport(rows, holders)


def spend_csv(report: SpendReport) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Card spend through the marketplace"])
    writer.writerow(["Paid with", "Card type", "Payments", "Paid", "Refunded", "Net"])
    for row in report.rows:
        writer.writerow(
            [
                REPORT_ROUTE_LABELS.get(row.route, row.route.label),
                row.funding.label,
                row.payments,
                plain_pounds(row.paid_pence),
                plain_pounds(row.refunded_pence),
                plain_pounds(row.net_pence),
            ]
        )
    writer.writerow([])
    writer.writerow(["Direct payment recipient", "Recipient email", "Prepaid card holder", "Card holder email", "Net spend"])
    for row in report.holders:
        writer.writerow(
            [
                safe_cell(row.citizen.name),
                safe_cell(row.citizen.email),
                safe_cell(row.holder.name),
                safe_cell(row.holder.email),
                plain_pounds(row.net_pence),
            ]
        )
    return _csv_response(out.getvalue(), f"card-spend-{dt.date.today().isoformat()}.csv")


def _csv_response(text: str, name: str) -> Response:
    return Response(
        text, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    )
