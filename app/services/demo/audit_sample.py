"""Last year's audit sample in the demo: drawn by commissioner@demo.test in the middle of
January with a fixed seed (so every demo draws the same budgets from the same history), after
the balance check of every budget that ran last year. This year's is left for the
commissioner to draw. Loaded once: if last year's sample exists, nothing happens."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.database import utcnow
from app.extensions import db
from app.models import User
from app.services import audits
from app.services.demo.history_clock import at
from app.services.demo.report import LoadReport
from app.uk_time import uk_today

SEED = 20250115


def load_audit_sample(report: LoadReport) -> None:
    """Audit: last year's balance checks and sample"""
    last_year = uk_today().year - 1
    if audits.sample_for(last_year) is not None or not audits.budgets_in(last_year):
        return
    commissioner = db.session.execute(select(User).where(User.email == "commissioner@demo.test")).scalar_one_or_none()
    drawn = min(at(dt.date(last_year + 1, 1, 15), 10), utcnow())
    sample = audits.draw(last_year, by=commissioner, seed=SEED, now=drawn)
    report.add("budgets in last year's audit sample", len(sample.audits))


# The audit services run their own units of work.
load_audit_sample.manages_transactions = True
