"""How a year's audit went, beside what checking everyone every quarter would have taken
(Lincolnshire's measure: it moved from quarterly checks of every direct payment to a yearly
10% sample and saved £130,000 cashable the next year).

Time is what the auditors recorded. Checking everyone quarterly is worked out as four checks
a year of every budget considered, each taking the mean time of this year's closed audits
(or ``ASSUMED_MINUTES`` while none is closed, and the report says so).

An audit is there for one or more of three reasons, counted apart: drawn at random, a risk
flag (``flags``), or a finance check someone involved asked for (``requests``: not a risk
flag, whatever else the audit was chosen for)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.models import AuditFlag, AuditOutcome, AuditStatus, BudgetAudit, LedgerTransaction
from app.services import ledger
from app.services.audits.requests import REQUESTED
from app.services.audits.sampling import sample_for

ASSUMED_MINUTES = 60  # one check of one budget, until the year's own audits say otherwise
QUARTERS = 4


@dataclass(frozen=True)
class AuditReport:
    year: int
    budgets_considered: int
    audits: int
    closed: int
    # Why the audits are there: an audit may be there for more than one of these.
    at_random: int  # drawn at random
    risk_flagged: int  # with a risk flag
    asked_for: int  # a finance check someone asked for
    outcomes: dict[AuditOutcome, int]
    recovered_pence: int  # recovered and not given back
    minutes_spent: int
    minutes_per_check: int
    minutes_assumed: bool  # no audit closed yet: ASSUMED_MINUTES per check

    @property
    def not_at_random(self) -> int:
        """Audits there only for a risk flag or a finance check asked for."""
        return self.audits - self.at_random

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
    given_back = _recoveries_given_back(year)
    flagged = _with_a_risk_flag(year)
    minutes_closed = sum(a.minutes_spent for a in closed)
    per_check = round(minutes_closed / len(closed)) if closed and minutes_closed else ASSUMED_MINUTES
    return AuditReport(
        year=year,
        budgets_considered=sample.budgets_considered,
        audits=len(found),
        closed=len(closed),
        at_random=sum(1 for a in found if a.at_random),
        risk_flagged=sum(1 for a in found if a.id in flagged),
        asked_for=sum(1 for a in found if a.requested),
        outcomes=outcomes,
        recovered_pence=sum(a.recovered_pence for a in closed if a.id not in given_back),
        minutes_spent=sum(a.minutes_spent for a in found),
        minutes_per_check=per_check,
        minutes_assumed=not (closed and minutes_closed),
    )


def _recoveries_given_back(year: int) -> set[int]:
    """The audits of ``year`` whose recovered money was given back (its recovery reversed)."""
    return set(
        db.session.execute(
            select(BudgetAudit.id)
            .join(LedgerTransaction, LedgerTransaction.corrects_id == BudgetAudit.recovery_transaction_id)
            .where(BudgetAudit.year == year, ledger.IS_REVERSAL)
        ).scalars()
    )


def _with_a_risk_flag(year: int) -> set[int]:
    """The audits of ``year`` with at least one risk flag (a finance check asked for is not one)."""
    return set(
        db.session.execute(
            select(AuditFlag.audit_id)
            .join(BudgetAudit, BudgetAudit.id == AuditFlag.audit_id)
            .where(BudgetAudit.year == year, AuditFlag.code != REQUESTED)
            .distinct()
        ).scalars()
    )
