"""Benchmark: preparing and approving a payment run over up to a million visits, on PostgreSQL.

    python -m bench.payment_runs_bench [--sizes 100000,250000,500000,1000000] [--providers 2000]

Needs a PostgreSQL server (BENCH_PAYMENT_RUNS_DATABASE_URL, default
postgresql+psycopg://postgres@127.0.0.1:5432/bench_payment_runs; dropped, recreated and
migrated for each size). For each size, in turn: bench/payment_runs_market.py writes that
many delivered visits over ``--providers`` providers in one 4-week period, with their
records, holds, captures and spend facts (timed apart: not part of the target), then the
tables it wrote are VACUUM ANALYZEd (the run tables stay empty and never analysed, as on a
live database before its first run) and a CHECKPOINT taken; then, timed by the wall clock:
``payment_runs.prepare`` (one commissioner, the period's last day, ``now`` two days later),
``payment_runs.approve`` (another commissioner: every provider paid through the ledger and
told) and ``payment_runs.bacs_file`` (the Standard 18 file of every paid line). For each it
prints the statements the time went to (any longer than the app's statement timeout,
DATABASE_STATEMENT_TIMEOUT_SECONDS, is flagged: the bench itself runs without one), and the
median time of a ``SELECT 1``, a measure of how busy the machine was.

Then a table: each size's times, visits per second, how the time per visit grows against the
smallest size (1.00: linear), the Bacs file's time and the load average before and after;
and whether 1,000,000 visits met the target (issue 13: a run for 2,000 providers prepared
and approved in under 60 s). At the smallest size it also runs `flask ledger check`
(``ledger_check.check()``) after approval and prints what it found. Prints figures; asserts
nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import statistics
import time

from sqlalchemy import event, func, select, text
from sqlalchemy.engine import make_url

from bench.bookings_bench import _recreate_database

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_payment_runs"
DEFAULT_SIZES = (100_000, 250_000, 500_000, 1_000_000)
TARGET_VISITS = 1_000_000
TARGET_SECONDS = 60.0
SAVEPOINT = re.compile(r"sa_savepoint_\d+")


def load() -> str:
    """The load average (1, 5, 15 minutes), as `uptime` shows it."""
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


class Statements:
    """The wall time of every SQL statement while ``phase`` is set, by its text (whitespace
    folded), so each phase can name the statements its time went to."""

    def __init__(self, engine) -> None:
        self.phase: str | None = None
        self.seen: dict[str, dict[str, list[float]]] = {}
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany) -> None:
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def _after(self, conn, cursor, statement, parameters, context, executemany) -> None:
        took = time.perf_counter() - conn.info["bench_started"].pop()
        if self.phase is not None:
            key = SAVEPOINT.sub("sa_savepoint_N", " ".join(statement.split()))
            self.seen.setdefault(self.phase, {}).setdefault(key, []).append(took)

    def summary(self, phase: str, wall: float, limit: float, top: int = 3) -> list[str]:
        found = self.seen.pop(phase, {})
        total = sum(sum(times) for times in found.values())
        count = sum(len(times) for times in found.values())
        lines = [f"    {phase}: {count:,} statements, {total:.1f} s of its {wall:.1f} s in the database; the most time:"]
        for sql, times in sorted(found.items(), key=lambda item: -sum(item[1]))[:top]:
            worst = max(times)
            warning = f"  OVER the app's {limit:.0f} s statement timeout" if limit and worst > limit else ""
            lines.append(f"      {sum(times):6.1f} s in {len(times):>5,} × (longest {worst:5.1f} s){warning}  {sql[:150]}")
        return lines


def make_app(url: str):
    """The app on the bench database, with no statement timeout (the figures are wanted even
    where a statement takes longer than the app allows: the summary flags those)."""
    os.environ.setdefault("APP_ENV", "testing")
    from app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False, "DATABASE_STATEMENT_TIMEOUT_SECONDS": 0})


def build(url, visits: int, providers: int):
    """A freshly migrated database with the market written, its tables VACUUM ANALYZEd (as
    autovacuum would leave them after a bulk load: the run tables, empty, never analysed) and
    a CHECKPOINT, so that none of that lands inside the timed work. Returns (market, seconds
    to migrate, to write, to vacuum)."""
    from flask_migrate import upgrade

    from app.extensions import db
    from app.services import council
    from app.services.policy import current_policy
    from bench import payment_runs_market

    started = time.perf_counter()
    db.session.remove()
    db.engine.dispose()
    _recreate_database(url)
    upgrade()
    migrated = time.perf_counter() - started
    # The run period: the first of the council's 4-week periods (from BUDGET_PERIOD_ANCHOR).
    market = payment_runs_market.plan(visits, providers, current_policy().period_anchor, 7 * council.payment_schedule_weeks())
    payment_runs_market.generate(market)
    written = time.perf_counter() - started - migrated
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f"VACUUM ANALYZE {', '.join(payment_runs_market.TABLES)}")
        conn.exec_driver_sql("CHECKPOINT")
    return market, migrated, written, time.perf_counter() - started - migrated - written


def round_trip(times: int = 200) -> float:
    """The median milliseconds of a ``SELECT 1``: what the machine's load adds to every statement."""
    from app.extensions import db

    took = []
    for _ in range(times):
        started = time.perf_counter()
        db.session.execute(text("SELECT 1"))
        took.append(time.perf_counter() - started)
    db.session.rollback()
    return statistics.median(took) * 1000


def timed(statements: Statements, phase: str, call):
    """``call()``'s result and wall time, its statements recorded under ``phase``."""
    statements.phase = phase
    started = time.perf_counter()
    try:
        return call(), time.perf_counter() - started
    finally:
        statements.phase = None


def measure(market, statements: Statements) -> dict:
    """Prepare, approve and download the Bacs file, each timed by the wall clock."""
    from app.extensions import db
    from app.models import PaymentRunLine, User
    from app.services import payment_runs
    from app.uk_time import local_midnight

    now = local_midnight(market.last_day + dt.timedelta(days=2)) + dt.timedelta(hours=10)
    preparer, approver = db.session.get(User, market.preparer_id), db.session.get(User, market.approver_id)
    f = {"load before": load(), "round trip": round_trip()}
    run, f["prepare"] = timed(statements, "prepare", lambda: payment_runs.prepare(market.last_day, by=preparer, now=now))
    run_id = run.id
    run, f["approve"] = timed(statements, "approve", lambda: payment_runs.approve(run_id, by=approver, now=now))
    bacs, f["bacs"] = timed(statements, "bacs file", lambda: payment_runs.bacs_file(run))
    f["load after"] = load()
    f["bacs records"] = len(bacs.splitlines())
    f["run visits"], f["run net"] = run.visit_count, run.net_pence
    by_status = select(PaymentRunLine.status, func.count()).where(PaymentRunLine.run_id == run_id).group_by(PaymentRunLine.status)
    f["lines"] = {status.value: n for status, n in db.session.execute(by_status).all()}
    db.session.rollback()
    return f


def ledger_check() -> None:
    from app.extensions import db
    from app.services import ledger_check as checker

    started = time.perf_counter()
    problems = checker.check()
    seconds = time.perf_counter() - started
    db.session.rollback()
    verdict = "no problems" if not problems else f"{len(problems)} PROBLEMS: " + "; ".join(str(p) for p in problems[:3])
    print(f"  ledger_check.check() (`flask ledger check`) after approval: {seconds:.1f} s, {verdict}", flush=True)


def table_counts() -> str:
    from app.extensions import db

    counted = ("booking_visits", "ledger_entries", "spend_facts", "payment_run_items", "payment_run_lines")
    found = [f"{db.session.execute(text(f'SELECT count(*) FROM {t}')).scalar():,} {t}" for t in counted]
    db.session.rollback()
    return ", ".join(found)


def one_size(url, visits: int, providers: int, statements: Statements, *, check: bool, limit: float) -> dict:
    print(f"\n{visits:,} visits for {providers:,} providers (load {load()})", flush=True)
    market, migrated, written, vacuumed = build(url, visits, providers)
    print(f"  migrated {migrated:.1f} s, market written {written:.1f} s, VACUUM ANALYZE and CHECKPOINT {vacuumed:.1f} s", flush=True)
    f = measure(market, statements)
    print(
        f"  prepare {f['prepare']:.1f} s, approve {f['approve']:.1f} s, Bacs file {f['bacs'] * 1000:.0f} ms"
        f" ({f['bacs records']:,} records). The run pays {f['run visits']:,} visits"
        f" ({visits - f['run visits']:,} disputed left out), £{f['run net'] / 100:,.2f};"
        f" lines: {', '.join(f'{n:,} {status}' for status, n in sorted(f['lines'].items()))}",
        flush=True,
    )
    print(f"  a SELECT 1 took {f['round trip']:.2f} ms (median of 200, just before preparing)", flush=True)
    for phase, top in (("prepare", 3), ("approve", 6), ("bacs file", 2)):
        print("\n".join(statements.summary(phase, f[phase.split()[0]], limit, top)), flush=True)
    statements.seen.clear()
    print(f"  rows: {table_counts()}", flush=True)
    if check:
        ledger_check()
    return f


HEADER = (
    f"  {'visits':>9} {'prepare s':>9} {'approve s':>9} {'total s':>8} {'visits/s':>9} {'µs/visit':>8} "
    f"{'prepare ×':>9} {'total ×':>8} {'bacs ms':>8} {'SELECT 1':>8}  load average (1, 5, 15 min) before / after"
)


def row(visits: int, f: dict, base_visits: int, base: dict) -> str:
    total = f["prepare"] + f["approve"]
    prepare_ratio = (f["prepare"] / visits) / (base["prepare"] / base_visits)
    total_ratio = (total / visits) / ((base["prepare"] + base["approve"]) / base_visits)
    return (
        f"  {visits:>9,} {f['prepare']:>9.1f} {f['approve']:>9.1f} {total:>8.1f} {visits / total:>9,.0f} {total / visits * 1e6:>8.1f} "
        f"{prepare_ratio:>9.2f} {total_ratio:>8.2f} {f['bacs'] * 1000:>8.0f} {f['round trip']:>5.2f} ms"
        f"  {f['load before']} / {f['load after']}"
    )


def report(results: list[tuple[int, dict]], providers: int) -> None:
    base_visits, base = results[0]
    print(f"\nPayment runs for {providers:,} providers: wall time by size (×: time per visit against {base_visits:,}; 1.00 is linear)")
    print(HEADER)
    for visits, f in results:
        print(row(visits, f, base_visits, base))
    at_target = [f for visits, f in results if visits == TARGET_VISITS]
    if not at_target:
        print(f"  target not measured: add {TARGET_VISITS:,} to --sizes")
        return
    total = at_target[0]["prepare"] + at_target[0]["approve"]
    verdict = "PASS" if total < TARGET_SECONDS else "MISS"
    print(f"  {verdict}: prepared and approved over {TARGET_VISITS:,} visits in {total:.1f} s (target: under {TARGET_SECONDS:.0f} s)")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=lambda s: sorted(int(x.replace("_", "")) for x in s.split(",") if x.strip()),
        default=list(DEFAULT_SIZES),
        help="visits per size, comma-separated (default 100000,250000,500000,1000000)",
    )
    parser.add_argument("--providers", type=int, default=2000)
    args = parser.parse_args(argv)
    url = make_url(os.environ.get("BENCH_PAYMENT_RUNS_DATABASE_URL", DEFAULT_URL))
    print(f"Payment runs on PostgreSQL (database {url.database}): {os.cpu_count()} cores, load average {load()}")
    from app.config import config_from_env

    limit = config_from_env().DATABASE_STATEMENT_TIMEOUT_SECONDS
    app = make_app(url.render_as_string(hide_password=False))
    from app.extensions import db

    with app.app_context():
        statements = Statements(db.engine)
        results = [(n, one_size(url, n, args.providers, statements, check=not i, limit=limit)) for i, n in enumerate(args.sizes)]
        report(results, args.providers)
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    main()
