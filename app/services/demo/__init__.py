"""Demo data: a deterministic market around Peterborough, for `flask demo load`.

Every step creates only what is missing, keyed on natural keys (district code, provider
slug, service title within its provider...), so running the loader again changes nothing
and never overwrites what someone has edited since.
"""

from __future__ import annotations

from app.database import write_transaction
from app.services.demo.accounts import DEMO_PASSWORD, load_accounts, owner_email, sign_in_people
from app.services.demo.audit_sample import load_audit_sample
from app.services.demo.history import load_history
from app.services.demo.history_payments import load_bank_details, load_payment_runs
from app.services.demo.history_reviews import load_reviews
from app.services.demo.market import load_council, load_framework, load_market, load_places
from app.services.demo.money import load_money
from app.services.demo.position import load_market_position
from app.services.demo.report import DemoRefused, LoadReport, Progress, refuse_unless_demo
from app.services.demo.today import load_today
from app.services.demo.today_visits import load_today_visits
from app.services.facade import seal

# The loader's steps, in order: each adds what is missing, so loading twice changes nothing.
# The year of history comes before today's step, whose funding run then finds its budgets paid.
# Payment runs pay what the history delivered (to the bank accounts the step before adds);
# reviews follow what was delivered; today's visits come last, after this period's funding.
STEPS = (
    load_places,
    load_council,
    load_framework,
    load_market,
    load_accounts,
    load_money,
    load_history,
    load_bank_details,
    load_payment_runs,
    load_reviews,
    load_audit_sample,
    load_market_position,
    load_today,
    load_today_visits,
)


def load(*, demo_mode: bool, progress: Progress | None = None, history: bool = True) -> LoadReport:
    """Load every part of the demo data that is missing. ``history=False`` leaves out the
    year of market history (the slowest step), for tests that look at something else."""
    refuse_unless_demo(demo_mode)
    report = LoadReport()
    say = progress or (lambda message: None)
    for step in STEPS if history else tuple(s for s in STEPS if s is not load_history):
        say(step.__doc__.strip().splitlines()[0] if step.__doc__ else step.__name__)
        if getattr(step, "manages_transactions", False):
            step(report)  # calls services that each run their own unit of work
        else:
            with write_transaction():
                step(report)
    return report


__all__ = ["DEMO_PASSWORD", "STEPS", "DemoRefused", "LoadReport", "load", "owner_email", "refuse_unless_demo", "sign_in_people"]

seal(__name__)
