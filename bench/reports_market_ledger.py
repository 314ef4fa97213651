"""The ledger as ``app.services.ledger`` writes it (``Books``): accounts made on first use,
balanced transactions with one idempotency key each, holds placed and settled once, and
each account's cached balance kept as its entries' sum.
"""

from __future__ import annotations

import datetime as dt

from bench.reports_market_bookings import Booking, Visit, reference
from bench.reports_market_copy import Tables

TXN_COLUMNS = "id kind idempotency_key cause_type cause_id actor_user_id actor_label memo effective_at recorded_at corrects_id"
HOLD_COLUMNS = (
    "id visit_id budget_account_id hold_account_id amount_pence status captured_pence released_pence placed_transaction_id "
    "settled_transaction_id created_at settled_at"
)


class Books:
    """The ledger as ``app.services.ledger`` writes it: accounts made on first use, balanced
    transactions, holds placed and settled once; balances kept as the entries sum."""

    def __init__(self, tables: Tables) -> None:
        self.t = tables
        self.accounts: dict[tuple[str, str], list] = {}

    def account(self, kind: str, owner: str, name: str, at: dt.datetime, **refs) -> list:
        found = self.accounts.get((kind, owner))
        if found is None:
            negative = kind in ("council_funding", "provider_paid", "self_funded")
            refs = (refs.get("budget_id"), refs.get("booking_id"), refs.get("provider_id"))
            found = [self.t.next_id("ledger_accounts"), kind, owner, name[:200], *refs, negative, 0, at]
            self.accounts[(kind, owner)] = found
        return found

    def post(
        self, kind: str, legs: list[tuple[list, int]], *, key: str, cause: tuple, actor: int | str | None, at: dt.datetime, memo: str
    ) -> int:
        """``actor``: a user's id, or a system job's label (None: the funding run)."""
        assert len(legs) >= 2 and sum(a for _, a in legs) == 0 and all(a for _, a in legs), legs
        tid = self.t.next_id("ledger_transactions")
        user = actor if isinstance(actor, int) else None
        label = f"user:{actor}" if user else (actor or "system:funding run")
        self.t.add("ledger_transactions", TXN_COLUMNS, (tid, kind, key, cause[0], cause[1], user, label, memo, at, at, None))
        for acc, amount in legs:
            self.t.add(
                "ledger_entries", "id transaction_id account_id amount_pence", (self.t.next_id("ledger_entries"), tid, acc[0], amount)
            )
            acc[8] += amount
        return tid

    def ref(self, account_id_key: tuple[str, str]) -> list:
        return self.accounts[account_id_key]

    def hold(self, visit: Visit, source: tuple[str, str], booking: Booking, actor: int | None, at: dt.datetime) -> list:
        held = self.ref(("booking_hold", f"booking:{booking.id}"))
        tid = self.post(
            "hold",
            [(self.ref(source), -visit.amount), (held, visit.amount)],
            key=f"hold:visit:{visit.id}:1",
            cause=("booking_visit", visit.id),
            actor=actor,
            at=at,
            memo=f"Set aside for {booking.service[5]} ({reference(booking.id)})",
        )
        return [self.t.next_id("ledger_holds"), visit.id, self.ref(source), held, visit.amount, tid, at]

    def settle(self, hold: list, capture: int, payee: list | None, actor: int | None, at: dt.datetime, memo: str) -> None:
        hold_id, visit_id, source, held, amount, placed, created = hold
        legs = [(held, -amount)] + ([(payee, capture)] if capture else []) + ([(source, amount - capture)] if amount > capture else [])
        tid = self.post(
            "capture" if capture else "release",
            legs,
            key=f"settle-hold:{hold_id}",
            cause=("booking_visit", visit_id),
            actor=actor,
            at=at,
            memo=memo,
        )
        status = "captured" if capture else "released"
        row = (hold_id, visit_id, source[0], held[0], amount, status, capture, amount - capture, placed, tid, created, at)
        self.t.add("ledger_holds", HOLD_COLUMNS, row)

    def keep_live(self, hold: list) -> None:
        hold_id, visit_id, source, held, amount, placed, created = hold
        self.t.add("ledger_holds", HOLD_COLUMNS, (hold_id, visit_id, source[0], held[0], amount, "held", 0, 0, placed, None, created, None))

    def write_accounts(self) -> None:
        columns = "id kind owner_key name budget_id booking_id provider_id allow_negative balance_pence created_at"
        for row in sorted(self.accounts.values()):
            assert row[7] or row[8] >= 0, f"account {row[2]} would be below zero: {row[8]}"
            self.t.add("ledger_accounts", columns, tuple(row))
