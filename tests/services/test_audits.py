"""Proportionate audit, as an auditor would check it: every budget's yearly balance check is
kept; the sample is the council's share drawn at random, reproducible from its recorded seed,
plus every flagged budget, each flag saying why; drawing a year again changes nothing."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from sqlalchemy import select

from app.database import write_transaction
from app.extensions import db
from app.models import AuditEvent, AuditSample, ProviderStatus, TransactionKind
from app.services import audits, budgets, ledger
from app.services.ledger import Actor
from app.uk_time import uk_today
from tests.services.test_delivery_disputes import book_care, record_visit

STARTED = uk_today() - dt.timedelta(days=40)
YEAR = STARTED.year


@pytest.fixture
def twelve(make_budget):
    """Twelve budgets running this year; the last holds three periods' money, all unspent."""
    made = [make_budget(amount=28_000, starts_on=STARTED) for _ in range(11)]
    made.append(make_budget(amount=28_000, starts_on=STARTED, periods=3))
    return made


def test_the_sample_is_reproducible_from_its_seed_and_holds_every_flagged_budget(app, twelve, make_commissioner):
    hoarder = twelve[-1]
    assert budgets.summary(hoarder).available_pence > 2 * 28_000  # more than 8 weeks' worth
    sample = audits.draw(YEAR, by=make_commissioner(), seed=20260101)
    considered = [b.id for b in audits.budgets_in(YEAR)]
    assert sample.budgets_considered == len(considered) >= 12 and sample.share_percent == 10
    at_random = sorted(a.budget_id for a in sample.audits if a.at_random)
    assert len(at_random) == math.ceil(len(considered) / 10)
    # Anyone can draw it again from the seed, and gets the same budgets.
    assert audits.choose(considered, seed=20260101, share=10) == at_random
    assert audits.choose(considered, seed=20260102, share=10) != at_random or len(considered) == len(at_random)
    [flagged] = [a for a in sample.audits if a.budget_id == hoarder.id]
    assert [flag.code for flag in flagged.flags] == ["unspent"]
    assert "unspent: more than 8 weeks' worth (£560)" in flagged.flags[0].reason
    # Every budget's balance is checked, once, and adds up.
    checks = audits.checks_of(YEAR)
    assert sorted(c.budget_id for c in checks) == sorted(considered) and all(c.balances for c in checks)
    # Drawn once: drawing again (even with another seed) gives the same sample.
    assert audits.draw(YEAR, by=None, seed=1).id == sample.id
    assert db.session.execute(select(db.func.count()).select_from(AuditSample)).scalar_one() == 1
    [event] = db.session.execute(select(AuditEvent).where(AuditEvent.action == "audit.sample_drawn")).scalars().all()
    assert event.after["seed"] == 20260101 and event.after["flagged"] >= 1


def test_a_year_to_come_cannot_be_sampled(app):
    from app.services.errors import ValidationError

    with pytest.raises(ValidationError, match="Choose a year"):
        audits.draw(uk_today().year + 1, by=None)


def test_flags_say_why_corrections_and_spending_with_a_suspended_provider(
    app, make_provider, make_provider_staff, make_service, make_citizen, make_budget, policy
):
    """Alice's visit was delivered by a provider the council then suspended, and £5 paid into
    her budget by mistake was taken back (a reversal) the same day."""
    care = book_care(make_provider, make_provider_staff, make_service, make_citizen, make_budget, policy)
    record_visit(care)
    year = care.visit.starts_at.year
    care.provider.status = ProviderStatus.SUSPENDED
    db.session.commit()
    with write_transaction():
        account = ledger.budget_account(care.budget)
        paid_in = ledger.post(
            TransactionKind.ADJUSTMENT,
            [(ledger.council_funding_account(), -500), (account, 500)],
            key="test-adjustment",
            cause=("test", None),
            actor=Actor.system("test"),
            effective_at=care.visit.starts_at,
        )
        ledger.reverse(paid_in, actor=Actor.system("test"), reason="Paid in by mistake", effective_at=care.visit.starts_at)
    found = audits.flags_for([care.budget], year)[care.budget.id]
    assert [code for code, _ in found] == ["corrections", "suspended_provider"]
    reasons = dict(found)
    assert reasons["corrections"] == f"1 correction or reversal of its money in {year}"
    assert reasons["suspended_provider"] == f"£20 spent in {year} with Nene Valley Home Care, which the council has suspended"
    assert audits.flags_for([care.budget], year - 1) == {}  # nothing the year before
