"""Paying providers: payment runs, remittance advice and the council's payment file.

schedule       run periods (1, 2 or 4 weeks, aligned to budget periods) and Bacs dates
preparing      a run claims, set-based, what each provider is owed for the period
approving      a second person pays each line once (resumable after a crash)
runs           finding runs and lines; cancelling a run not yet approved
remittance     what a payment was for, visit by visit, with adjustments
payment_file   the run's Bacs Standard 18 file and CSV (bacs: our writer of the format)
scheduled      the scheduler prepares the newest ended period's run (once)
bank_accounts  providers' bank details: changed by an owner, confirmed by the council
checks         the runs' part of `flask ledger check`
"""

from app.services.facade import seal
from app.services.payment_runs.approving import SamePerson, approve, may_approve, paid_account
from app.services.payment_runs.checks import Standing, check_payment_runs, standing
from app.services.payment_runs.payment_file import bacs_file, csv_file
from app.services.payment_runs.preparing import live_run_for, prepare
from app.services.payment_runs.remittance import Remittance, remittance, remittance_csv
from app.services.payment_runs.runs import (
    all_runs,
    cancel,
    get_run,
    item_count,
    line_for_provider,
    lines_of,
    lines_page,
    mean_days_to_pay,
    paid_lines_for_provider,
)
from app.services.payment_runs.schedule import bacs_dates, latest_complete_period, next_working_day, period_ending
from app.services.payment_runs.scheduled import prepare_latest

__all__ = [
    "Remittance",
    "SamePerson",
    "Standing",
    "all_runs",
    "approve",
    "bacs_dates",
    "bacs_file",
    "cancel",
    "check_payment_runs",
    "csv_file",
    "get_run",
    "item_count",
    "latest_complete_period",
    "line_for_provider",
    "lines_of",
    "lines_page",
    "live_run_for",
    "may_approve",
    "mean_days_to_pay",
    "next_working_day",
    "paid_account",
    "paid_lines_for_provider",
    "period_ending",
    "prepare",
    "prepare_latest",
    "remittance",
    "remittance_csv",
    "standing",
]

seal(__name__)
