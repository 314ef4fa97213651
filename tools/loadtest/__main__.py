"""`make loadtest`: Locust, headless, drives a realistic mix through the real pages (see
locustfile.py) over gunicorn on PostgreSQL, once for each number of workers asked for.

    python -m tools.loadtest [--workers 2,4] [--users 40] [--seconds 60] [--bare-seconds 15]

Once: a fresh PostgreSQL database (LOADTEST_DATABASE_URL, default loadtest_base on the
local server) is migrated, the demo market loaded and the search index built. Then for
each phase: a fresh copy of that database and index, Redis, localstripe and gunicorn with N
workers on free 127.0.0.1 ports; a short run of the bare route (a page that renders
base.html and nothing else) as fast as the same number of users can ask; then the mix for
the given time. It prints requests per second and p50/p95/p99 per page, what the market
said no to (business outcomes), errors, and the ratio of the pages' throughput to the bare
route's; then stops the servers, runs `flask ledger check` on the phase's database and
scans gunicorn's access log for 5xx. It exits non-zero, loudly, on any 5xx, any request
Locust counted as failed, or a failing ledger check. Everything it started is stopped and
its databases are dropped (--keep keeps them, and the logs under instance/loadtest/).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from tools.loadtest import report, stack

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/loadtest_base"
MIX = ("AnonymousVisitor", "BudgetHolder", "SelfFunder", "ProviderOwner", "Commissioner")


@dataclass
class Phase:
    workers: int
    page_rps: float = 0.0
    bare_rps: float = 0.0
    p95: float = 0.0
    requests: int = 0
    errors: int = 0
    server_errors: list[str] = field(default_factory=list)
    ledger_ok: bool = False

    @property
    def ratio(self) -> float:
        return self.page_rps / self.bare_rps if self.bare_rps else 0.0

    @property
    def ok(self) -> bool:
        return self.ledger_ok and not self.server_errors and not self.errors


def arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.loadtest", description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="2,4", help="gunicorn workers of each phase, comma separated (2,4)")
    parser.add_argument("--users", type=int, default=40, help="simulated people at once (40)")
    parser.add_argument("--spawn-rate", type=float, default=10, help="people started a second (10)")
    parser.add_argument("--seconds", type=int, default=60, help="length of each phase's mix (60)")
    parser.add_argument("--bare-seconds", type=int, default=15, help="length of each phase's bare-route run (15)")
    parser.add_argument("--only", default=",".join(MIX), help="the simulated people to run, comma separated (all of them)")
    parser.add_argument("--keep", action="store_true", help="keep the databases and logs")
    return parser.parse_args(argv)


def prepare(base_url: str, workdir: Path) -> tuple[Path, Path]:
    """The demo market, loaded once: (its search index, the plan for the locustfile)."""
    print(f"Preparing: a fresh database {make_url(base_url).database}, migrations, demo data, search index", flush=True)
    stack.recreate_database(base_url)
    env = stack.app_env(base_url, workdir)
    started = time.monotonic()
    for args in (("db", "upgrade"), ("demo", "load"), ("search", "rebuild")):
        done = stack.flask(env, *args, quiet=True)
        if done.returncode != 0:
            print(done.stdout, done.stderr, sep="\n")
            raise SystemExit(f"flask {' '.join(args)} failed")
    plan = workdir / "plan.json"
    subprocess.run([sys.executable, "-m", "tools.loadtest.plan", str(plan)], cwd=stack.ROOT, env=env, check=True)
    print(f"  ready in {time.monotonic() - started:.0f} s", flush=True)
    return Path(env["SEARCH_INDEX_DIR"]), plan


def locust(app_url: str, env: dict, classes: tuple[str, ...], args, seconds: int, prefix: Path, plan: Path, stripe_url: str):
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(stack.ROOT / "tools" / "loadtest" / "locustfile.py"),
        "--headless",
        "--users",
        str(args.users),
        "--spawn-rate",
        str(args.spawn_rate),
        "--run-time",
        f"{seconds}s",
        "--stop-timeout",
        "15",
        "--host",
        app_url,
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
        *classes,
    ]
    locust_env = dict(
        env,
        PYTHONPATH=str(stack.ROOT),
        LOADTEST_PLAN=str(plan),
        LOADTEST_STRIPE_URL=stripe_url,
        LOADTEST_OUTCOMES=f"{prefix}_outcomes.json",
    )
    done = subprocess.run(command, cwd=stack.ROOT, env=locust_env, capture_output=True, text=True)
    if done.returncode not in (0, 1):  # 1: some requests failed (reported from the CSV)
        print(done.stdout[-3000:], done.stderr[-3000:], sep="\n")
        raise SystemExit(f"Locust itself failed (exit {done.returncode})")
    return report.stats(prefix)


def _tracebacks(log: Path, limit: int = 3) -> str:
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    blocks = re.findall(r"(Traceback \(most recent call last\):.*?\n\S[^\n]*)", text, re.S)
    return "\n\n".join(blocks[:limit])


def run_phase(workers: int, args, base_url: str, index: Path, plan: Path, workdir: Path) -> Phase:
    phase = Phase(workers)
    url = str(make_url(base_url).set(database=f"loadtest_w{workers}"))
    here = workdir / f"w{workers}"
    shutil.rmtree(here, ignore_errors=True)
    here.mkdir(parents=True)
    stack.recreate_database(url, template=make_url(base_url).database)
    env = stack.app_env(url, here)
    stack.copy_index(index, Path(env["SEARCH_INDEX_DIR"]))
    print(f"\n== {workers} gunicorn workers, {args.users} users ==", flush=True)
    with stack.served(env, workers, here) as (app_url, stripe_url, served_env):
        _, bare = locust(app_url, served_env, ("BareRoute",), args, args.bare_seconds, here / "bare", plan, stripe_url)
        phase.bare_rps = bare.rps if bare else 0.0
        print(f"  bare route (base.html only): {phase.bare_rps:.1f} requests a second, p50 {bare.p50:.0f} ms", flush=True)
        rows, total = locust(app_url, served_env, tuple(args.only.split(",")), args, args.seconds, here / "mix", plan, stripe_url)
    app_rows = [r for r in rows if not r.name.startswith("stripe.js")]
    phase.page_rps = sum(r.rps for r in app_rows)
    phase.requests, phase.p95 = (total.requests, total.p95) if total else (0, 0.0)
    phase.errors = sum(r.failures for r in rows) + (bare.failures if bare else 0)
    print(report.table(rows, total))
    print(f"  pages: {phase.page_rps:.1f} requests a second = {phase.ratio:.2f} of the bare route's {phase.bare_rps:.1f}")
    print("  business outcomes (the market saying no is not an error):")
    for name, count in sorted(report.outcomes(here / "mix_outcomes.json").items(), key=lambda kv: -kv[1]):
        print(f"    {count:>6,}  {name}")
    for name, error, count in report.failures(here / "mix") + report.failures(here / "bare"):
        print(f"  ERROR x{count}: {name}: {error}")
    phase.server_errors = report.server_errors(here / "access.log")
    check = stack.flask(env, "ledger", "check", quiet=True)
    phase.ledger_ok = check.returncode == 0
    print(f"  flask ledger check: {'passed' if phase.ledger_ok else 'FAILED'}: {(check.stdout + check.stderr).strip()[-400:]}")
    if phase.server_errors:
        print(f"  5xx ANSWERS: {len(phase.server_errors)}, first: {phase.server_errors[:5]}")
        # Flask logs to wsgi.errors (gunicorn's error log); anything else printed goes to gunicorn.out.
        found = _tracebacks(here / "gunicorn.log") or _tracebacks(here / "gunicorn.out")
        print(found or "  (no traceback in the server's logs)")
    if not args.keep:
        stack.drop_database(url)
    return phase


def main(argv: list[str]) -> int:
    args = arguments(argv)
    base_url = os.environ.get("LOADTEST_DATABASE_URL", DEFAULT_URL)
    if not make_url(base_url).database.startswith("loadtest_"):
        raise SystemExit("LOADTEST_DATABASE_URL must name a database starting loadtest_: it is dropped and made afresh")
    workdir = stack.ROOT / "instance" / "loadtest"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    print(
        f"Load test on {os.cpu_count()} cores (the load generator shares them with the server): "
        "APP_ENV=development with DEMO_MODE on (demo accounts, no two-step codes, cookies not Secure over plain "
        "http://127.0.0.1), otherwise production's settings: a real SECRET_KEY, PostgreSQL with its timeouts, "
        "rate limits ON with counts in Redis (sign-in counts failed attempts only), email to the log"
    )
    index, plan = prepare(base_url, workdir)
    phases = [run_phase(int(n), args, base_url, index, plan, workdir) for n in args.workers.split(",")]
    if not args.keep:
        stack.drop_database(base_url)
        shutil.rmtree(workdir, ignore_errors=True)
    print("\nSummary")
    print(f"  {'workers':>7} {'requests':>9} {'pages/s':>8} {'bare/s':>8} {'ratio':>6} {'p95 ms':>7} {'errors':>6} {'5xx':>5}  ledger")
    for p in phases:
        print(
            f"  {p.workers:>7} {p.requests:>9,} {p.page_rps:>8.1f} {p.bare_rps:>8.1f} {p.ratio:>6.2f} {p.p95:>7.0f} "
            f"{p.errors:>6} {len(p.server_errors):>5}  {'passed' if p.ledger_ok else 'FAILED'}"
        )
    if all(p.ok for p in phases):
        return 0
    print("\nLOAD TEST FAILED: a 5xx, a failed request or a failing ledger check (details above)", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
