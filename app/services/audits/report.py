"""How a year's audit went, beside what checking everyone every quarter would have taken
(Lincolnshire's measure: it moved from quarterly checks of every direct payment to a yearly
10% sample and saved £130,000 cashable the next year).

Time is what the auditors recorded. Checking everyone quarterly is worked out as four checks
a year of every budget considered, each taking the mean time of this year's closed audits
(or ``ASSUMED_MINUTES`` while none is closed, and the report says so)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.models import AuditOutcome, AuditStatus, BudgetAudit, LedgerTransaction
from app.services import ledger
from app.services.audits.sampling import sample_for

ASSUMED_MINUTES = 60  # one check of one budget, until the year's own audits say otherwise
QUARTERS = 4


@dataclass(frozen=True)
class AuditReport:
    year: int
    budgets_considered: int
    audits: int
    closed: int
    at_random: int  # drawn at random (some of them flagged or asked for too)
    flagged_only: int  # flagged or asked for, not drawn at random
    outcomes: dict[AuditOutcome, int]
    recovered_pence: int  # recovered and not given back
    minutes_spent: int
    minutes_per_check: int
    minutes_assumed: bool  # no audit closed yet: ASSUMED_MINUTES per check

    @property
    def quarterly_minutes(self) -> int:
        """Checking every budget considered, every quarter, at the same time per check."""
        return self.budgets_considered * QUARTERS * self.minutes_per_check

    @property
    def sample_minutes(self) -> int:
        """This year's way: every audit in the sample, at the same time per check."""
        return self.audits * self.minutes_per_check

    @property
    def minutes_saved(self) -> int:
        return self.quarterly_minutes - self.sample_minutes


def year_report(year: int) -> AuditReport | None:
    """The report for ``year`` (None until its sample is drawn)."""
    sample = sample_for(year)
    if sample is None:
        return None
    found = list(db.session.execute(select(BudgetAudit).where(BudgetAudit.year == year)).scalars())
    closed = [a for a in found if a.status is AuditStatus.CLOSED]
    outcomes = {outcome: sum(1 for a in closed if a.outcome is outcome) for outcome in AuditOutcome}
    given_back = {
        a.id
        for a in closed
        if a.recovery_transaction_id and ledger.reversal_of(db.session.get(LedgerTransaction, a.recovery_transaction_id))
    }
    minutes_closed = sum(a.minutes_spent for a in closed)
    per_check = round(minutes_closed / len(closed)) if closed and minutes_closed else ASSUMED_MINUTES
    return AuditReport(
        year=year,
        budgets_considered=sample.budgets_considered,
        audits=len(found),
        closed=len(closed),
        at_random=sum(1 for a in found if a.at_random),
        flagged_only=sum(1 for a in found if not a.at_random),
        outcomes=outcomes,
        recovered_pence=sum(a.recovered_pence for a in closed if a.id not in given_back),
        minutes_spent=sum(a.minutes_spent for a in found),
        minutes_per_check=per_check,
        minutes_assumed=not (closed and minutes_closed),
    )
