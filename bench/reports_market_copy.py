"""Writing the planned market: rows for each table with ids handed out in order (``Tables``),
and PostgreSQL COPY of every table, parents before children, with each id sequence moved
past the rows written.
"""

from __future__ import annotations

from app.extensions import db


class Tables:
    """Rows for each table, with ids handed out in order."""

    def __init__(self) -> None:
        self.rows: dict[str, list[tuple]] = {}
        self.columns: dict[str, tuple[str, ...]] = {}
        self.ids: dict[str, int] = {}

    def next_id(self, table: str) -> int:
        self.ids[table] = self.ids.get(table, 0) + 1
        return self.ids[table]

    def add(self, table: str, columns: str, row: tuple) -> None:
        if table not in self.columns:
            self.columns[table] = tuple(columns.split())
            self.rows[table] = []
        self.rows[table].append(row)

    def count(self, table: str) -> int:
        return len(self.rows.get(table, ()))


# Parents before children, for the foreign keys.
ORDER = (
    "users", "provider_staff", "card_customers", "payment_cards", "personal_budgets", "bookings", "booking_visits", "booking_cards",
    "booking_events", "ledger_accounts", "ledger_transactions", "ledger_entries", "ledger_holds", "budget_periods", "card_payments",
    "payment_attempts", "search_logs", "turned_away_requests",
)  # fmt: skip


def copy_all(t: Tables, progress=print) -> None:
    """COPY every table's rows, then move each id sequence past them."""
    raw = db.session.connection().connection.driver_connection
    with raw.cursor() as cursor:
        for table in ORDER:
            rows = t.rows.get(table, [])
            if not rows:
                continue
            with cursor.copy(f"COPY {table} ({', '.join(t.columns[table])}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            if "id" in t.columns[table]:
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
    db.session.commit()
