"""The year's audit sample: a random share of the year's budgets (the council's setting),
drawn with a seed that is kept, so anyone can draw it again and get the same budgets, plus
every budget with a risk flag; the year's finance checks asked for join it. Drawn once a
year (drawing again returns the same sample); every budget's balance check is made first."""

from __future__ import annotations

import datetime as dt
import math
import random
import secrets
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.database import utcnow, write_transaction
from app.extensions import db
from app.models import AuditFlag, AuditSample, BudgetAudit, User
from app.services import audit, council
from app.services.audits.balance_checks import budgets_in, check_year
from app.services.audits.flags import flags_for
from app.services.errors import ValidationError
from app.uk_time import uk_today


def share_percent() -> int:
    return council.current().audit_share_percent


def choose(budget_ids: Sequence[int], *, seed: int, share: int) -> list[int]:
    """The budgets drawn at random: ``share`` percent of them (at least one, rounded up),
    the same ones for the same ids, seed and share, whoever draws them."""
    ordered = sorted(budget_ids)
    if not ordered:
        return []
    count = min(len(ordered), max(1, math.ceil(len(ordered) * share / 100)))
    return sorted(random.Random(seed).sample(ordered, count))


def _asked_for(year: int) -> dict[int, BudgetAudit]:
    """This year's finance checks asked for before its sample is drawn, by budget."""
    found = db.session.execute(select(BudgetAudit).where(BudgetAudit.year == year, BudgetAudit.sample_id.is_(None))).scalars()
    return {picked.budget_id: picked for picked in found}


def audits_of(year: int) -> list[BudgetAudit]:
    """Every audit of ``year``: its sample's and the finance checks asked for, by budget."""
    return list(db.session.execute(select(BudgetAudit).where(BudgetAudit.year == year).order_by(BudgetAudit.budget_id)).scalars())


def sample_for(year: int) -> AuditSample | None:
    return db.session.execute(select(AuditSample).where(AuditSample.year == year)).scalar_one_or_none()


def draw(year: int, *, by: User | None, seed: int | None = None, now: dt.datetime | None = None) -> AuditSample:
    """Draw the sample for ``year`` (idempotent: the year's sample if there is one).
    ``by`` None: the scheduler."""
    now = now or utcnow()
    if not 2000 <= year <= uk_today(now).year:
        raise ValidationError({"year": f"Choose a year from 2000 to {uk_today(now).year}"})
    existing = sample_for(year)
    if existing is not None:
        return existing
    check_year(year, now=now)
    chosen = budgets_in(year)
    seed = secrets.randbits(48) if seed is None else seed
    share = share_percent()
    at_random = set(choose([b.id for b in chosen], seed=seed, share=share))
    flagged = flags_for(chosen, year)
    try:
        with write_transaction():
            sample = AuditSample(
                year=year, seed=seed, share_percent=share, budgets_considered=len(chosen), drawn_at=now, drawn_by_id=by.id if by else None
            )
            db.session.add(sample)
            db.session.flush()
            asked = _asked_for(year)
            for budget in chosen:
                if budget.id in at_random or budget.id in flagged:
                    picked = asked.get(budget.id) or BudgetAudit(year=year, budget_id=budget.id, at_random=False)
                    picked.sample_id, picked.at_random = sample.id, budget.id in at_random
                    picked.flags += [AuditFlag(code=code, reason=reason) for code, reason in flagged.get(budget.id, [])]
                    db.session.add(picked)
            for picked in asked.values():
                picked.sample_id = sample.id  # finance checks asked for this year join its sample
            audit.record(
                by,
                "audit.sample_drawn",
                "audit_sample",
                sample.id,
                after={"year": year, "seed": seed, "share_percent": share, "at_random": len(at_random), "flagged": len(flagged)},
                at=now,
            )
    except IntegrityError:
        db.session.rollback()
        return sample_for(year)
    return sample
