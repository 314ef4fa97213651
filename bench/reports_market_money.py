"""The money the services move for the market: each budget paid in every 4 weeks
(``fund:budget:<id>:period:<date>``), a hold per budget-paid visit settled when the visit
is delivered, cancelled or declined, and card visits charged as
``card_payments.intents._post_capture`` leaves them.
"""

from __future__ import annotations

import datetime as dt
import random

from app.services.policy import PERIOD_DAYS
from bench.reports_market_bookings import Booking, Visit, hold_time, reference, write_booking
from bench.reports_market_calendar import Calendar
from bench.reports_market_copy import Tables
from bench.reports_market_ledger import Books
from bench.reports_market_people import Person


def fund_budget(t: Tables, books: Books, rng: random.Random, person: Person, cal: Calendar) -> None:
    """The person's budget, big enough for the visits of its busiest period (some people
    under-spend), paid in every 4 weeks from its first period to the current one."""
    if person.budget_id is None:
        return
    demand: dict[int, int] = {}
    for booking in person.bookings:
        for visit in booking.visits:
            if hold_time(booking, visit, cal) is not None:
                demand[cal.period_of(visit.starts)] = demand.get(cal.period_of(visit.starts), 0) + visit.amount
    busiest = max(demand.values(), default=20_000) * (1.8 if rng.random() < 0.1 else 1.15)
    amount = min(2_000_000, max(20_000, -(-int(busiest) // 100) * 100))
    first = cal.period_of(person.starts)
    isf = person.isf_provider
    t.add(
        "personal_budgets",
        "id public_id citizen_id budget_type isf_provider_id amount_per_period_pence starts_on status created_at updated_at",
        (person.budget_id, f"budget{person.budget_id:014d}", person.id, "isf" if isf else "managed_account", isf, amount,
         cal.period_starts[first], "active", person.starts, person.starts),
    )  # fmt: skip
    owner = f"budget:{person.budget_id}" + (f":provider:{isf}" if isf else "")
    name = (
        f"Individual Service Fund budget{person.budget_id:014d} held with provider {isf}" if isf else f"Personal budget {person.budget_id}"
    )
    account = books.account("budget", owner, name, person.starts, budget_id=person.budget_id, provider_id=isf)
    council = books.ref(("council_funding", "council"))
    for period in range(first, len(cal.period_starts)):
        start = cal.period_starts[period]
        tid = books.post(
            "funding",
            [(council, -amount), (account, amount)],
            key=f"fund:budget:{person.budget_id}:period:{start.isoformat()}",
            cause=("personal_budget", person.budget_id),
            actor=None,
            at=cal.funded_at(period),
            memo=f"Personal budget for the 4 weeks from {start:%-d %B %Y}",
        )
        t.add(
            "budget_periods",
            "id budget_id starts_on ends_on funded_pence transaction_id shortfall_pence note created_at",
            (t.next_id("budget_periods"), person.budget_id, start, start + dt.timedelta(days=PERIOD_DAYS), amount, tid, 0, "",
             cal.funded_at(period)),
        )  # fmt: skip


def settle_booking(t: Tables, books: Books, booking: Booking, staff: int, cal: Calendar, provider_name: str) -> None:
    """The booking's rows, and its money as the services move it."""
    write_booking(t, booking, staff)
    payee = books.account("provider_payable", f"provider:{booking.service[1]}", f"Owed to {provider_name}", cal.span_start,
                          provider_id=booking.service[1])  # fmt: skip
    if booking.person.card_id:
        for visit in booking.visits:
            if visit.charged:
                _card_charge(t, books, booking, visit, payee)
        return
    person = booking.person
    source = ("budget", f"budget:{person.budget_id}" + (f":provider:{person.isf_provider}" if person.isf_provider else ""))
    memo = f"{booking.service[5]} ({reference(booking.id)})"
    for visit in booking.visits:
        held_at = hold_time(booking, visit, cal)
        if held_at is None or held_at > cal.now or (visit.settled_at and held_at >= visit.settled_at):
            continue
        books.account("booking_hold", f"booking:{booking.id}", f"Held for booking {reference(booking.id)}", held_at, booking_id=booking.id)
        hold = books.hold(visit, source, booking, person.id if held_at == booking.created else None, held_at)
        if visit.status == "held":
            books.keep_live(hold)
        elif visit.charged:
            books.settle(hold, visit.charged, payee, visit.settled_by, visit.settled_at, f"{memo}: {visit.status.replace('_', ' ')}")
        else:
            books.settle(hold, 0, None, visit.settled_by, visit.settled_at, f"Released: {memo} {visit.status}")


def _card_charge(t: Tables, books: Books, booking: Booking, visit: Visit, payee: list) -> None:
    """A charge that succeeded, as the card work leaves it (``intents._post_capture``)."""
    person, at, amount = booking.person, visit.settled_at, visit.charged
    pid = t.next_id("card_payments")
    funding, route = ("prepaid", "prepaid_card") if person.way == "direct_payment" else ("debit", "self_funder")
    t.add(
        "card_payments",
        "id public_id visit_id booking_id card_id kind status funding route amount_pence captured_pence refunded_pence "
        "stripe_payment_intent_id created_at updated_at",
        (pid, f"cp{pid:014d}", visit.id, booking.id, person.card_id, "charge", "captured", funding, route, amount, amount, 0,
         f"pi_bench_{pid}", at, at),
    )  # fmt: skip
    t.add(
        "payment_attempts",
        "id key operation state card_payment_id amount_pence stripe_object_id tries created_at finished_at",
        (t.next_id("payment_attempts"), f"visit:{visit.id}:charge", "pay", "succeeded", pid, amount, f"pi_bench_{pid}", 1, at, at),
    )
    card = books.account("self_funded", f"card:{person.card_id}", f"Paid by card {person.card_id} (Person {person.id})", at)
    clearing = books.account("card_clearing", "stripe", "Card payments in transit (card processor)", at)
    memo = f"{booking.service[5]} ({reference(booking.id)})"
    cause = ("booking_visit", visit.id)
    system = "system:card payments"
    legs = [(card, -amount), (clearing, amount)]
    books.post("card_payment", legs, key=f"card-payment:{pid}:charged", cause=cause, actor=system, at=at, memo=f"Charged to card: {memo}")
    legs = [(clearing, -amount), (payee, amount)]
    books.post("capture", legs, key=f"card-payment:{pid}:to-provider", cause=cause, actor=system, at=at, memo=f"Paid by card: {memo}")
