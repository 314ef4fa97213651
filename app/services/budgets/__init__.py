"""Personal budgets: set-up, 4-weekly funding, paying for bookings, ISF moves, corrections,
and what a budget holder sees.

Money moves only through ``app.services.ledger``; this package decides *what* to move.
Funding runs, ISF moves and covering short visits of one budget take turns on the
budget's row lock (``accounts.lock_budget``); bookings take a shared lock on it.

Modules:
  setup            a commissioner sets up a budget (its first period is paid in at once)
  accounts         a budget's ledger accounts, and its lock
  funding          paying budgets in for a 4-week period, once
  holding          setting money aside for booked visits when it comes in
  booking_payment  paying for a booking from a budget (a bookings PaymentStrategy)
  isf              Individual Service Funds and moving them between providers
  corrections      reversing a payment into a budget made in error
  figures          the budget's figures: funded, available, set aside, spent
  statements       the statement for any stretch of days, as known at any moment
  queries          finding budgets
  checks           the budget side of `flask ledger check`

Other packages use the names below; modules in this package import each other directly.
"""

from app.services.budgets.accounts import budget_accounts, lock_budget, spending_account
from app.services.budgets.booking_payment import BUDGET_PAYMENT, BudgetPayment, usable_budgets
from app.services.budgets.checks import check_budgets
from app.services.budgets.corrections import MAX_REASON, MONEY_IN, PaymentIn, payment_in, reverse_money_in
from app.services.budgets.figures import BudgetSummary, summary
from app.services.budgets.funding import FundingResult, FundingRun, fund_all, fund_budget, latest_funded_period_end
from app.services.budgets.holding import cover_short_visits, hold_waiting_visits, lock_visits_to_hold
from app.services.budgets.isf import isf_move_by_key, isf_providers, move_isf
from app.services.budgets.queries import all_budgets, budgets_for_citizen, get_budget
from app.services.budgets.setup import MAX_AMOUNT_PENCE, MAX_OUTCOMES, create_budget, new_public_id
from app.services.budgets.statements import Statement, StatementLine, statement, statement_periods
from app.services.facade import seal

__all__ = [
    "BUDGET_PAYMENT",
    "MAX_AMOUNT_PENCE",
    "MAX_OUTCOMES",
    "MAX_REASON",
    "MONEY_IN",
    "BudgetPayment",
    "BudgetSummary",
    "FundingResult",
    "FundingRun",
    "PaymentIn",
    "Statement",
    "StatementLine",
    "all_budgets",
    "budget_accounts",
    "budgets_for_citizen",
    "check_budgets",
    "cover_short_visits",
    "create_budget",
    "fund_all",
    "fund_budget",
    "get_budget",
    "hold_waiting_visits",
    "isf_move_by_key",
    "isf_providers",
    "latest_funded_period_end",
    "lock_budget",
    "lock_visits_to_hold",
    "move_isf",
    "new_public_id",
    "payment_in",
    "reverse_money_in",
    "spending_account",
    "statement",
    "statement_periods",
    "summary",
    "usable_budgets",
]

seal(__name__)
