"""The ledger: the ONLY code that moves money.

Callers run these functions inside ``write_transaction()`` (app/database.py). Every
movement is a balanced transaction of integer pence, recorded once per idempotency key.
The check that an account can afford a debit and the debit itself are one conditional
``UPDATE ... WHERE balance_pence + delta >= 0``: on PostgreSQL the row lock makes
concurrent debits queue and re-check; on SQLite the write transaction holds the database
lock (BEGIN IMMEDIATE). Either way a budget can never go below zero, and a database CHECK
constraint refuses it even if this code were wrong.

accounts   the accounts, each created on first use (race-safe)
posting    one balanced movement, once per key; the ledger's errors; who moved the money
bulk       many movements of one kind at once (a payment run's payouts), all or nothing
holds      money set aside for a visit, captured (in part) and the rest released, once
new_booking  a new booking's holds, its hold account and all, in two statements (PostgreSQL)
reversals  undoing a movement with a new, linked transaction
reading    balances from the entries; the problems `flask ledger check` reports
"""

from app.services.facade import seal
from app.services.ledger.accounts import (
    account,
    budget_account,
    council_funding_account,
    hold_account,
    provider_payable_account,
    provider_payable_accounts,
    remember_account,
)
from app.services.ledger.bulk import BULK_KINDS, Movement, post_many
from app.services.ledger.holds import live_hold_for_visit, place_hold, settle_hold
from app.services.ledger.new_booking import NewHold, hold_for_new_booking
from app.services.ledger.posting import (
    Actor,
    HoldAlreadySettled,
    IdempotencyConflict,
    InsufficientFunds,
    LedgerError,
    Leg,
    find_transaction,
    post,
)
from app.services.ledger.reading import Problem, balance, balances
from app.services.ledger.reversals import IS_REVERSAL, REVERSAL_CAUSE, REVERSIBLE, reversal_of, reverse

__all__ = [
    "BULK_KINDS",
    "IS_REVERSAL",
    "REVERSAL_CAUSE",
    "REVERSIBLE",
    "Actor",
    "HoldAlreadySettled",
    "IdempotencyConflict",
    "InsufficientFunds",
    "LedgerError",
    "Leg",
    "Movement",
    "NewHold",
    "Problem",
    "account",
    "balance",
    "balances",
    "budget_account",
    "council_funding_account",
    "find_transaction",
    "hold_account",
    "hold_for_new_booking",
    "live_hold_for_visit",
    "place_hold",
    "post",
    "post_many",
    "provider_payable_account",
    "provider_payable_accounts",
    "remember_account",
    "reversal_of",
    "reverse",
    "settle_hold",
]

seal(__name__)
