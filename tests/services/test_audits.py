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
from app.models import AuditEvent, AuditOutcome, AuditSample, ProviderStatus, TransactionKind
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


# -- Working an audit ------------------------------------------------------------------------------


def test_an_audit_asks_the_person_records_time_and_recovers_unspent_money_once(app, twelve, make_commissioner, make_representative):
    from app.models import AuditOutcome, AuditStatus, Notification
    from app.services import ledger_check
    from app.services.errors import Conflict, NotFound, ValidationError

    commissioner = make_commissioner()
    sample = audits.draw(YEAR, by=commissioner, seed=5)
    hoarder = twelve[-1]
    [found] = [a for a in sample.audits if a.budget_id == hoarder.id]
    assert found.status is AuditStatus.TO_START
    asked = audits.ask(found.id, question="What is the money left over for?", by=commissioner)
    assert audits.get_audit(found.id).status is AuditStatus.WAITING and audits.open_questions(hoarder) == [asked]
    told = db.session.execute(select(Notification).where(Notification.user_id == hoarder.citizen_id)).scalars().all()
    assert told[-1].link == f"/budgets/{hoarder.public_id}#audit"
    with pytest.raises(NotFound):
        audits.answer(asked.id, text="Not mine", by=make_representative())  # acts for nobody here
    audits.answer(asked.id, text="Saving for a holiday break with a carer", by=make_representative(hoarder.citizen))
    assert audits.get_audit(found.id).status is AuditStatus.OPEN and audits.open_questions(hoarder) == []
    with pytest.raises(Conflict):
        audits.answer(asked.id, text="Again", by=hoarder.citizen)
    audits.record(found.id, findings="Money saved up, no plan for it", minutes=25, by=commissioner)
    audits.record(found.id, findings="Money saved up, no plan for it yet", minutes=20, by=commissioner)
    assert audits.get_audit(found.id).minutes_spent == 45

    available = budgets.summary(hoarder).available_pence
    with pytest.raises(ValidationError, match=r"from £0\.01 to the"):
        audits.close(found.id, outcome="recovered", findings="Too much", recover_pence=available + 1, by=commissioner)
    closed = audits.close(found.id, outcome="recovered", findings="Agreed: 4 weeks' worth goes back", recover_pence=28_000, by=commissioner)
    assert (closed.status, closed.outcome, closed.recovered_pence) == (AuditStatus.CLOSED, AuditOutcome.RECOVERED, 28_000)
    figures = budgets.summary(hoarder)
    assert figures.available_pence == available - 28_000 and figures.balances
    recovery = ledger.find_transaction(f"audit:{found.id}:recover")
    assert recovery.kind is TransactionKind.ADJUSTMENT and closed.recovery_transaction_id == recovery.id
    with pytest.raises(Conflict, match="closed"):
        audits.close(found.id, outcome="no_action", findings="Again", by=commissioner)
    with pytest.raises(Conflict, match="closed"):
        audits.ask(found.id, question="One more?", by=commissioner)
    assert budgets.summary(hoarder).available_pence == available - 28_000  # recovered once
    assert ledger_check.check() == []
    actions = [e.action for e in db.session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars()]
    assert actions[-3:] == ["audit.opened", "audit.money_recovered", "audit.closed"]
    # A recovery made in error is given back, once, with a reason.
    with pytest.raises(ValidationError):
        audits.undo_recovery(found.id, reason=" ", by=commissioner)
    audits.undo_recovery(found.id, reason="The person showed the money was committed to a respite week", by=commissioner)
    assert budgets.summary(hoarder).available_pence == available and audits.recovery_given_back(audits.get_audit(found.id))
    with pytest.raises(Conflict, match="given back already"):
        audits.undo_recovery(found.id, reason="Again", by=commissioner)
    assert ledger_check.check() == []


def test_the_years_report_sets_the_audits_against_checking_everyone_quarterly(app, twelve, make_commissioner):
    """The twelve budgets, some drawn at random and one flagged: before any audit is closed
    a check is counted at the assumed hour; then one closed after 50 minutes (recovering
    £100) sets it at 50, for checking everyone quarterly and for the sample alike."""
    commissioner = make_commissioner()
    sample = audits.draw(YEAR, by=commissioner, seed=11)
    report = audits.year_report(YEAR)
    assert (report.audits, report.closed, report.minutes_per_check, report.minutes_assumed) == (len(sample.audits), 0, 60, True)
    hoarder = twelve[-1]
    [found] = [a for a in sample.audits if a.budget_id == hoarder.id]
    audits.record(found.id, findings="Checked", minutes=50, by=commissioner)
    audits.close(found.id, outcome="recovered", findings="£100 back", recover_pence=10_000, by=commissioner)
    report = audits.year_report(YEAR)
    considered = sample.budgets_considered
    assert (report.closed, report.minutes_spent, report.minutes_per_check, report.minutes_assumed) == (1, 50, 50, False)
    assert report.recovered_pence == 10_000 and report.outcomes[AuditOutcome.RECOVERED] == 1
    assert report.at_random + report.not_at_random == report.audits == len(sample.audits)
    assert (report.risk_flagged, report.asked_for) == (1, 0)  # the hoarder's unspent money; nobody asked
    assert report.quarterly_minutes == considered * 4 * 50 and report.sample_minutes == report.audits * 50
    assert report.minutes_saved == (considered * 4 - report.audits) * 50
    audits.undo_recovery(found.id, reason="Given back", by=commissioner)
    assert audits.year_report(YEAR).recovered_pence == 0  # given back: not recovered after all
    assert audits.year_report(YEAR - 1) is None


# -- Finance checks anyone involved can ask for ------------------------------------------------------


def test_anyone_involved_asks_for_a_finance_check_and_the_sample_takes_it_in(
    app, make_provider, make_provider_staff, make_service, make_citizen, make_budget, make_representative, make_commissioner, policy
):
    from app.services.errors import NotFound, ValidationError

    care = book_care(make_provider, make_provider_staff, make_service, make_citizen, make_budget, policy)
    budget = care.budget
    with pytest.raises(NotFound):
        audits.ask_for_check(budget, reason="Curious", by=make_citizen())
    with pytest.raises(NotFound):
        audits.ask_for_check(budget, reason="Not ours", by=make_provider_staff(make_provider(name="Elsewhere Care")))
    with pytest.raises(ValidationError):
        audits.ask_for_check(budget, reason="  ", by=care.citizen)
    found = audits.ask_for_check(budget, reason="My statement shows a visit twice", by=care.citizen)
    assert (found.requested, found.sample_id, found.at_random, found.year) == (True, None, False, uk_today().year)
    again = audits.ask_for_check(budget, reason="Visits charged that did not happen", by=care.staff)  # the provider it pays
    also = audits.ask_for_check(budget, reason="Checking", by=make_representative(budget.citizen))
    council = audits.ask_for_check(budget, reason="Routine", by=make_commissioner())
    assert again.id == also.id == council.id == found.id  # one open audit gathers every request
    reasons = [flag.reason for flag in audits.get_audit(found.id).flags]
    assert reasons[0].startswith("Asked for by the person on ") and reasons[0].endswith(": My statement shows a visit twice")
    assert reasons[1].startswith("Asked for by Nene Valley Home Care on ")
    assert reasons[2].startswith("Asked for by someone who arranges their care") and reasons[3].startswith("Asked for by the council")

    # The year's sample, drawn later, takes the asked-for audit in rather than opening another.
    sample = audits.draw(uk_today().year, by=make_commissioner(), seed=1)
    mine = [a for a in audits.audits_of(uk_today().year) if a.budget_id == budget.id]
    assert [a.id for a in mine] == [found.id] and mine[0].sample_id == sample.id
    report = audits.year_report(uk_today().year)
    assert report.audits == len(audits.audits_of(uk_today().year))
    # Four requests, one audit asked for: a reason of its own, not a risk flag.
    assert (report.asked_for, report.risk_flagged) == (1, 0)
