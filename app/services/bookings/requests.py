"""What a person asks for, and what it would cost: the request, what its way of paying
makes of it (``Funding``), and the quote of its visits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from app.models import BookingSchedule, BudgetOutcome, PaymentMethod, PersonalBudget, Service
from app.uk_time import local_date


@dataclass(frozen=True)
class BookingRequest:
    """What a person asks for on the booking form."""

    service_id: int
    request_key: str
    schedule: BookingSchedule
    first_date: dt.date
    start_time: dt.time
    units: int
    weekdays: tuple[int, ...] = ()  # weekly bookings: 0 = Monday
    weeks: int = 1
    payment_method: PaymentMethod = PaymentMethod.BUDGET
    budget_public_id: str | None = None
    card_public_id: str | None = None  # card bookings: the payer's saved card
    outcome_id: int | None = None
    message: str = ""
    expected_total_pence: int | None = None  # the total the person confirmed
    visit_address: str = ""  # where the visits take place; empty when the person goes to the provider
    contact_phone: str = ""  # a phone number the provider can call


@dataclass(frozen=True)
class PlannedVisit:
    starts_at: dt.datetime
    ends_at: dt.datetime
    units: int
    amount_pence: int
    hold_now: bool  # falls in a period the budget has been funded for

    @property
    def local_date(self) -> dt.date:
        return local_date(self.starts_at)


@dataclass
class Quote:
    service: Service
    request: BookingRequest
    unit_price_pence: int
    visits: list[PlannedVisit]
    budget: PersonalBudget | None = None
    available_pence: int | None = None
    outcome: BudgetOutcome | None = None
    skipped: list[tuple[dt.date, str]] = field(default_factory=list)  # (day, reason): closed days in a weekly series

    @property
    def total_pence(self) -> int:
        return sum(v.amount_pence for v in self.visits)

    @property
    def hold_now_pence(self) -> int:
        return sum(v.amount_pence for v in self.visits if v.hold_now)

    @property
    def later_pence(self) -> int:
        return self.total_pence - self.hold_now_pence


@dataclass(frozen=True)
class Funding:
    """What a way of paying makes of a request before its visits are planned: for a
    personal budget, the budget, what it has available, the support plan outcome chosen,
    and the day its funded periods end (visits before it are paid for at once)."""

    budget: PersonalBudget | None = None
    available_pence: int | None = None
    outcome: BudgetOutcome | None = None
    funded_until: dt.date | None = None

    def holds_now(self, day: dt.date) -> bool:
        """Whether a visit on ``day`` has its money set aside when it is booked."""
        return self.budget is not None and self.funded_until is not None and day < self.funded_until
