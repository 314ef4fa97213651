"""Last year's audit sample in the demo: drawn by commissioner@demo.test in the middle of
January with a fixed seed (so every demo draws the same budgets from the same history), after
the balance check of every budget that ran last year; the first audit closed (no action
needed) and the next waiting for the person's answer to a question. This year's sample is
left for the commissioner to draw. Loaded once: if last year's sample exists, nothing happens."""

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
DAY = dt.timedelta(days=1)
NO_ACTION = "Spending matches the support plan; the money left over is a planned saving for respite. No action."
QUESTION = "Your statement shows money left over at the end of the year. What are you planning to use it for?"


def load_audit_sample(report: LoadReport) -> None:
    """Audit: last year's balance checks and sample"""
    last_year = uk_today().year - 1
    if audits.sample_for(last_year) is not None or not audits.budgets_in(last_year):
        return
    commissioner = db.session.execute(select(User).where(User.email == "commissioner@demo.test")).scalar_one_or_none()
    drawn = min(at(dt.date(last_year + 1, 1, 15), 10), utcnow())
    sample = audits.draw(last_year, by=commissioner, seed=SEED, now=drawn)
    report.add("budgets in last year's audit sample", len(sample.audits))
    if commissioner is None or not sample.audits:
        return
    first, *rest = sample.audits
    audits.record(first.id, findings="Statement checked against the support plan.", minutes=40, by=commissioner, now=drawn + DAY)
    audits.close(first.id, outcome="no_action", findings=NO_ACTION, by=commissioner, now=drawn + 2 * DAY)
    report.add("audits closed")
    if rest:
        audits.ask(rest[0].id, question=QUESTION, by=commissioner, now=drawn + DAY)
        report.add("audits waiting for the person's answer")


# The audit services run their own units of work.
load_audit_sample.manages_transactions = True
