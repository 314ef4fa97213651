"""A council's 4 weeks of delivered care, for the payment runs benchmark
(bench/payment_runs_bench.py): ``providers`` providers with one home-care service, a
confirmed bank account and an owner each; 10 people per provider with a council-managed
personal budget funded for the period; 50 bookings per provider; and ``visits`` delivered
visits spread over the bookings and over the period, each with its record (about one in
200 disputed and still open, so the run must leave it out), its hold and capture in the ledger
and its spend fact.

Written in SQL (``INSERT ... SELECT`` over ``generate_series`` and over the rows just
written), straight into the tables, with ids worked out from the visit's number: a
benchmark fixture, not a way into the app. Foreign keys and the ledger's append-only
triggers are not fired while loading (``session_replication_role = replica``, as a restore
does): every row is consistent by construction, the services' own inserts check the keys
again when the run is prepared, and `flask ledger check` passes on it (the benchmark runs
it). The money follows the services' shapes: ``fund:budget:<id>:period:<date>`` from the
council's funding account into each budget, a hold per visit (``hold:visit:<id>:1``, budget
to the booking's hold account) and its capture (``settle-hold:<hold>``, hold to the
provider's payable account), every cached balance the sum of its entries.

Ids: staff user p is provider p's owner; the two commissioners come next, then one citizen
per budget. Account 1 is the council's; budget k's account is 1 + k, booking b's hold
account 1 + C + b and provider p's payable account 1 + C + B + p (C budgets, B bookings).
Funding k is transaction k (entries 2k - 1, 2k); visit v's hold is transaction C + 2v - 1 and
its capture C + 2v, entries 2C + 4v - 3 to 2C + 4v (the last one: the payable entry, the
spend fact's). Visit v belongs to booking (v - 1) % B + 1, booking b to provider
(b - 1) % P + 1 and to budget (b - 1) % C + 1.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from sqlalchemy import text

from app.extensions import db

UK = "Europe/London"
BOOKINGS_PER_PROVIDER = 50
PEOPLE_PER_PROVIDER = 10
DISPUTED_ONE_IN = 200
# What ``generate`` writes to.
TABLES = (
    "users", "providers", "provider_staff", "services", "provider_bank_accounts", "council_settings", "personal_budgets",
    "budget_periods", "bookings", "booking_visits", "visit_records", "ledger_accounts", "ledger_transactions", "ledger_entries",
    "ledger_holds", "spend_facts",
)  # fmt: skip
SEQUENCED = tuple(table for table in TABLES if table != "spend_facts")  # those with an id sequence


@dataclass(frozen=True)
class Market:
    visits: int
    providers: int
    bookings: int
    budgets: int
    first_day: dt.date  # of the period the visits are in
    last_day: dt.date
    preparer_id: int
    approver_id: int


def plan(visits: int, providers: int, first_day: dt.date, days: int) -> Market:
    return Market(
        visits=visits,
        providers=providers,
        bookings=providers * BOOKINGS_PER_PROVIDER,
        budgets=providers * PEOPLE_PER_PROVIDER,
        first_day=first_day,
        last_day=first_day + dt.timedelta(days=days - 1),
        preparer_id=providers + 1,
        approver_id=providers + 2,
    )


def generate(market: Market, *, progress=print) -> dict[str, float]:
    """Write the market in one transaction; returns seconds per step."""
    m = _names(market)
    # The driver's own cursor: the statements are plain SQL (with % for modulo), no parameters.
    cursor = db.session.connection().connection.driver_connection.cursor()
    cursor.execute("SET LOCAL session_replication_role = replica")
    steps = (
        ("people and providers", _people_and_providers),
        ("bookings and visits", _bookings_and_visits),
        ("visit records", _visit_records),
        ("ledger accounts", _accounts),
        ("ledger transactions", _transactions),
        ("ledger entries", _entries),
        ("holds, periods, spend facts", _holds_periods_facts),
    )
    timings = {}
    for label, step in steps:
        started = time.perf_counter()
        for statement in step(m):
            cursor.execute(statement)
        timings[label] = time.perf_counter() - started
        progress(f"    {label:<28} {timings[label]:6.1f} s", flush=True)
    for table in SEQUENCED:
        cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)")
    db.session.commit()
    return timings


def _names(market: Market) -> dict:
    """The figures the statements are written with (all integers, dates or fixed words)."""
    category = db.session.execute(text("SELECT id FROM categories WHERE slug = 'home-care'")).scalar_one()
    start = f"('{market.first_day.isoformat()}'::timestamp AT TIME ZONE '{UK}')"
    return {
        "N": market.visits,
        "P": market.providers,
        "B": market.bookings,
        "C": market.budgets,
        "cat": category,
        "start": start,  # the period's first moment (UK midnight)
        "t0": f"({start} - interval '40 days')",  # when the market was set up
        "first": f"'{market.first_day.isoformat()}'::date",
        "ends": f"'{(market.last_day + dt.timedelta(days=1)).isoformat()}'::date",
        "prep": market.preparer_id,
        "appr": market.approver_id,
        # One visit in DISPUTED_ONE_IN, spread over the providers by a multiplicative hash of its number.
        "disputed": f"(id::bigint * 2654435761) % 4294967296 < {2**32 // DISPUTED_ONE_IN}",
    }


def _price(provider: str) -> str:
    """Provider ``provider``'s hourly price in pence (an SQL expression)."""
    return f"(1800 + ({provider} * 37) % 1200)"


def _people_and_providers(m: dict) -> list[str]:
    return [
        f"""INSERT INTO users (id, email, name, role, active, citizen_funding, created_at, updated_at)
        SELECT p, 'staff' || p || '@bench.test', 'Owner of provider ' || p, 'provider', true, NULL, {m["t0"]}, {m["t0"]}
        FROM generate_series(1, {m["P"]}) p
        UNION ALL VALUES ({m["prep"]}, 'preparer@bench.test', 'Bench Commissioner (prepares)', 'commissioner', true, NULL, {m["t0"]},
                          {m["t0"]}),
                         ({m["appr"]}, 'approver@bench.test', 'Bench Commissioner (approves)', 'commissioner', true, NULL, {m["t0"]},
                          {m["t0"]})
        UNION ALL
        SELECT {m["appr"]} + k, 'person' || k || '@bench.test', 'Person ' || k, 'citizen', true, 'personal_budget', {m["t0"]}, {m["t0"]}
        FROM generate_series(1, {m["C"]}) k""",
        f"""INSERT INTO providers (id, slug, name, description, town, status, created_at, updated_at)
        SELECT p, 'bench-care-' || p, 'Bench Home Care ' || p, '', 'Town ' || (p % 120 + 1), 'verified', {m["t0"]}, {m["t0"]}
        FROM generate_series(1, {m["P"]}) p""",
        f"""INSERT INTO provider_staff (id, provider_id, user_id, org_role, created_at)
        SELECT p, p, p, 'owner', {m["t0"]} FROM generate_series(1, {m["P"]}) p""",
        f"""INSERT INTO services (id, provider_id, category_id, title, description, price_pence, price_unit, min_units,
                                  accepts_personal_budget, accepts_prepaid_card, accepts_self_funder, availability_note, status,
                                  published_at, created_at, updated_at, capacity)
        SELECT p, p, {m["cat"]}, 'Home care visits', '', {_price("p")}, 'hour', 1, true, true, true, '', 'published',
               {m["t0"]}, {m["t0"]}, {m["t0"]}, 50
        FROM generate_series(1, {m["P"]}) p""",
        f"""INSERT INTO provider_bank_accounts (id, provider_id, sort_code, account_number, account_name, status, submitted_by_id,
                                                submitted_at, decided_by_id, decided_at, decision_note)
        SELECT p, p, (200000 + p)::text, (10000000 + p * 37)::text, 'Bench Home Care ' || p || ' Ltd', 'confirmed', p,
               {m["t0"]}, {m["prep"]}, {m["t0"]} + interval '1 day', ''
        FROM generate_series(1, {m["P"]}) p""",
        f"""INSERT INTO council_settings (id, name, contact_email, contact_phone, address, website, updated_at, payment_run_weeks,
                                          bank_sort_code, bank_account_number, bacs_user_number)
        VALUES (1, 'Bench Council', '', '', '', '', {m["t0"]}, 4, '309457', '12345678', '123456')""",
    ]


def _bookings_and_visits(m: dict) -> list[str]:
    """Visits first (their booking's figures are worked out from them), then the bookings and
    the budgets, each funded with what its visits cost, rounded up to the pound."""
    visit = "v.id::bigint"  # (its products overflow integer beyond 271,000 visits)
    b = f"(({visit} - 1) % {m['B']} + 1)"
    p = f"(({b} - 1) % {m['P']} + 1)"
    units = f"(1 + ({visit} * 7) % 3)"
    day, quarter = f"(({visit} * 13) % 28)::int", f"(({visit} * 7919) % 56)"
    starts = f"(({m['first']} + {day})::timestamp + interval '7 hours' + {quarter} * interval '15 minutes') AT TIME ZONE '{UK}'"
    return [
        f"""INSERT INTO booking_visits (id, booking_id, starts_at, ends_at, units, amount_pence, status, delivered_units,
                                        charged_pence, settled_at, settled_by_id)
        SELECT id, b, starts, starts + units * interval '1 hour', units, units * price, 'delivered', units, units * price,
               starts + units * interval '1 hour' + interval '30 minutes', p
        FROM (SELECT {visit} AS id, {b} AS b, {p} AS p, {units} AS units, {starts} AS starts,
                     {_price(p)} AS price
              FROM generate_series(1, {m["N"]}) v(id)) planned""",
        f"""INSERT INTO bookings (id, public_id, reference, request_key, service_id, provider_id, citizen_id, booked_by_id, budget_id,
                                  payment_method, schedule, unit_price_pence, price_unit, total_pence, status, message, decided_at,
                                  created_at, updated_at, visit_address, contact_phone)
        SELECT b, 'bk' || lpad(b::text, 14, '0'), 'BK' || lpad(b::text, 8, '0'), 'bench-' || b, p, p,
               {m["appr"]} + k, {m["appr"]} + k, k, 'budget', 'weekly', {_price("p")}, 'hour', total, 'completed', '',
               {m["t0"]} + interval '2 hours', {m["t0"]}, {m["t0"]}, '', ''
        FROM (SELECT booking_id AS b, (booking_id - 1) % {m["P"]} + 1 AS p, (booking_id - 1) % {m["C"]} + 1 AS k,
                     sum(amount_pence) AS total
              FROM booking_visits GROUP BY booking_id) costed""",
        f"""INSERT INTO personal_budgets (id, public_id, citizen_id, budget_type, amount_per_period_pence, starts_on, status,
                                          created_by_id, created_at, updated_at)
        SELECT k, 'budget' || lpad(k::text, 14, '0'), {m["appr"]} + k, 'managed_account', funded, {m["first"]}, 'active',
               {m["prep"]}, {m["t0"]}, {m["t0"]}
        FROM (SELECT budget_id AS k, (sum(total_pence) + 99) / 100 * 100 AS funded FROM bookings GROUP BY budget_id) costed""",
    ]


def _visit_records(m: dict) -> list[str]:
    """Each visit's record, as the provider's "delivered" writes it; one in 200 disputed by
    the person and still open, a third confirmed."""
    return [
        f"""INSERT INTO visit_records (id, visit_id, outcome, actual_start, actual_end, carer_ref, missed_reason, source,
                                       recorded_at, recorded_by_id, planned_minutes, paid_units_minutes, rule_note, exception_state,
                                       exception_reason, decision_reason, dispute_state, confirmed_at, confirmed_by_id,
                                       dispute_reason, disputed_at, disputed_by_id, dispute_note, taken_back_pence)
        SELECT v.id, v.id, 'delivered', v.starts_at, v.ends_at, '', '', 'form', v.settled_at, v.settled_by_id, v.units * 60,
               v.delivered_units * 60, 'Recorded by the provider as ' || v.units || ' of ' || v.units || ' hours delivered', 'none',
               '', '', state, CASE WHEN state = 'confirmed' THEN v.settled_at + interval '1 day' END,
               CASE WHEN state = 'confirmed' THEN bk.citizen_id END,
               CASE WHEN state = 'open' THEN 'The carer left early' ELSE '' END,
               CASE WHEN state = 'open' THEN v.settled_at + interval '1 day' END,
               CASE WHEN state = 'open' THEN bk.citizen_id END, '', 0
        FROM (SELECT *, CASE WHEN {m["disputed"]} THEN 'open' WHEN id % 3 = 0 THEN 'confirmed' ELSE 'none' END AS state
              FROM booking_visits) v
        JOIN bookings bk ON bk.id = v.booking_id""",
    ]


def _accounts(m: dict) -> list[str]:
    """Every account with its cached balance: the council's is minus all it funded, each
    budget what its visits left of its funding, each hold nothing (all captured), each
    provider what its visits were charged."""
    budget_id, hold_id, payable_id = "1 + k", f"1 + {m['C']} + b", f"1 + {m['C']} + {m['B']} + p"
    columns = "id, kind, owner_key, name, budget_id, booking_id, provider_id, allow_negative, balance_pence, created_at"
    return [
        f"""INSERT INTO ledger_accounts ({columns})
        SELECT 1, 'council_funding', 'council', 'Council funding for personal budgets', NULL, NULL, NULL, true,
               -(SELECT sum(amount_per_period_pence) FROM personal_budgets), {m["t0"]}""",
        f"""INSERT INTO ledger_accounts ({columns})
        SELECT {budget_id}, 'budget', 'budget:' || k, 'Personal budget ' || pb.public_id, k, NULL, NULL, false,
               pb.amount_per_period_pence - spent, {m["t0"]}
        FROM personal_budgets pb
        JOIN (SELECT budget_id AS k, sum(total_pence) AS spent FROM bookings GROUP BY budget_id) s ON s.k = pb.id""",
        f"""INSERT INTO ledger_accounts ({columns})
        SELECT {hold_id}, 'booking_hold', 'booking:' || b, 'Held for booking ' || reference, NULL, b, NULL, false, 0, {m["t0"]}
        FROM (SELECT id AS b, reference FROM bookings) bk""",
        f"""INSERT INTO ledger_accounts ({columns})
        SELECT {payable_id}, 'provider_payable', 'provider:' || p, 'Owed to Bench Home Care ' || p, NULL, NULL, p, true, owed,
               {m["t0"]}
        FROM (SELECT provider_id AS p, sum(total_pence) AS owed FROM bookings GROUP BY provider_id) s""",
    ]


def _transactions(m: dict) -> list[str]:
    columns = "id, kind, idempotency_key, cause_type, cause_id, actor_user_id, actor_label, memo, effective_at, recorded_at"
    hold_at = f"{m['start']} - interval '2 hours'"
    return [
        f"""INSERT INTO ledger_transactions ({columns})
        SELECT k, 'funding', 'fund:budget:' || k || ':period:' || {m["first"]}, 'personal_budget', k, NULL, 'system:funding run',
               'Personal budget for the 4 weeks from ' || to_char({m["first"]}, 'FMDD Month YYYY'), {hold_at} - interval '1 hour',
               {hold_at} - interval '1 hour'
        FROM generate_series(1, {m["C"]}) k""",
        f"""INSERT INTO ledger_transactions ({columns})
        SELECT {m["C"]} + 2 * v.id - 1 + leg, CASE leg WHEN 0 THEN 'hold' ELSE 'capture' END,
               CASE leg WHEN 0 THEN 'hold:visit:' || v.id || ':1' ELSE 'settle-hold:' || v.id END, 'booking_visit', v.id,
               CASE leg WHEN 0 THEN NULL ELSE v.settled_by_id END,
               CASE leg WHEN 0 THEN 'system:funding run' ELSE 'user:' || v.settled_by_id END,
               CASE leg WHEN 0 THEN 'Set aside for Home care visits (BK' || lpad(v.booking_id::text, 8, '0') || ')'
                    ELSE 'Home care visits on ' || to_char(v.starts_at AT TIME ZONE '{UK}', 'DD Mon HH24:MI') || ': '
                         || v.delivered_units || ' hours delivered (BK' || lpad(v.booking_id::text, 8, '0') || ')' END,
               CASE leg WHEN 0 THEN {hold_at} ELSE v.settled_at END, CASE leg WHEN 0 THEN {hold_at} ELSE v.settled_at END
        FROM booking_visits v CROSS JOIN generate_series(0, 1) leg""",
    ]


def _entries(m: dict) -> list[str]:
    C, B = m["C"], m["B"]
    budget = f"1 + ((v.booking_id - 1) % {C} + 1)"
    hold = f"1 + {C} + v.booking_id"
    payable = f"1 + {C} + {B} + ((v.booking_id - 1) % {m['P']} + 1)"
    return [
        """INSERT INTO ledger_entries (id, transaction_id, account_id, amount_pence)
        SELECT 2 * pb.id - 1 + leg, pb.id, CASE leg WHEN 0 THEN 1 ELSE 1 + pb.id END,
               CASE leg WHEN 0 THEN -pb.amount_per_period_pence ELSE pb.amount_per_period_pence END
        FROM personal_budgets pb CROSS JOIN generate_series(0, 1) leg""",
        f"""INSERT INTO ledger_entries (id, transaction_id, account_id, amount_pence)
        SELECT 2 * {C} + 4 * v.id - 3 + leg, {C} + 2 * v.id - 1 + leg / 2,
               CASE leg WHEN 0 THEN {budget} WHEN 3 THEN {payable} ELSE {hold} END,
               CASE WHEN leg IN (0, 2) THEN -v.charged_pence ELSE v.charged_pence END
        FROM booking_visits v CROSS JOIN generate_series(0, 3) leg""",
    ]


def _holds_periods_facts(m: dict) -> list[str]:
    C = m["C"]
    return [
        f"""INSERT INTO ledger_holds (id, visit_id, budget_account_id, hold_account_id, amount_pence, status, captured_pence,
                                      released_pence, placed_transaction_id, settled_transaction_id, created_at, settled_at)
        SELECT v.id, v.id, 1 + ((v.booking_id - 1) % {C} + 1), 1 + {C} + v.booking_id, v.charged_pence, 'captured',
               v.charged_pence, 0, {C} + 2 * v.id - 1, {C} + 2 * v.id, {m["start"]} - interval '2 hours', v.settled_at
        FROM booking_visits v""",
        f"""INSERT INTO budget_periods (id, budget_id, starts_on, ends_on, funded_pence, transaction_id, shortfall_pence, note,
                                        created_at)
        SELECT id, id, {m["first"]}, {m["ends"]}, amount_per_period_pence, id, 0, '', {m["start"]} - interval '3 hours'
        FROM personal_budgets""",
        f"""INSERT INTO spend_facts (entry_id, effective_at, month, provider_id, category_id, service_id, booking_id, visit_id, way,
                                     district, amount_pence)
        SELECT 2 * {C} + 4 * v.id, v.settled_at, date_trunc('month', v.settled_at AT TIME ZONE '{UK}')::date,
               (v.booking_id - 1) % {m["P"]} + 1, {m["cat"]}, (v.booking_id - 1) % {m["P"]} + 1, v.booking_id, v.id, 'managed',
               NULL, v.charged_pence
        FROM booking_visits v""",
    ]
