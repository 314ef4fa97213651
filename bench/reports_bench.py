"""Benchmark: the commissioner's market reports on a council-scale market, on PostgreSQL.

    python -m bench.reports_bench [--people 10000] [--months 12] [--repeat 10]

Needs a PostgreSQL server (BENCH_REPORTS_DATABASE_URL, default
postgresql+psycopg://postgres@127.0.0.1:5432/bench_reports; dropped, recreated and migrated
on every run). Builds a market of ``--months`` months (bench/reports_market.py: by default
10,000 people, over 1,000,000 ledger entries, 200,000 visits and 500,000 searches), writes
its spend facts with ``spend_facts.rebuild()`` (timed), then prints, beside the 1 s p95
target, p50 and p95 over ``--repeat`` runs of:

* ``catalogue.run`` for every report in ``catalogue.REPORTS`` whose module imports, with
  the default filter (the last 12 months), one type of support, and one postcode district
  with one way of paying;
* each report's whole page, through the Flask test client as a commissioner signed in by
  the real sign-in form (with two-step verification);

then how long `flask ledger check` (``ledger_check.check()``) takes at that size and what it
found. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import math
import os
import re
import statistics
import sys
import time
import types
from dataclasses import replace
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from bench.bookings_bench import _recreate_database

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_reports"
TARGET_MS = 1000
PASSWORD = "bench-reports-commissioner-password"
COUNTED = (
    ("ledger entries", "ledger_entries"),
    ("ledger transactions", "ledger_transactions"),
    ("ledger holds", "ledger_holds"),
    ("booking visits", "booking_visits"),
    ("bookings", "bookings"),
    ("booking events", "booking_events"),
    ("personal budgets", "personal_budgets"),
    ("budget periods", "budget_periods"),
    ("card payments", "card_payments"),
    ("searches", "search_logs"),
    ("requests turned away", "turned_away_requests"),
    ("spend facts", "spend_facts"),
    ("providers", "providers"),
    ("services", "services"),
)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def _report_modules() -> list[str]:
    """The report modules catalogue.py imports from app.services.reports."""
    source = Path(__file__).resolve().parent.parent / "app" / "services" / "reports" / "catalogue.py"
    names = []
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "app.services.reports":
            names.extend(alias.name for alias in node.names)
    return names


def load_catalogue() -> tuple[types.ModuleType, dict[str, str]]:
    """The catalogue, with a stand-in for each report module that does not import yet (being
    written): {module name: why it did not import}. Their reports are listed, not run."""
    import app.services.reports as package

    missing = {}
    for name in _report_modules():
        full = f"app.services.reports.{name}"
        try:
            importlib.import_module(full)
        except Exception as exc:  # any failure to import is reported, not raised
            missing[name] = f"{type(exc).__name__}: {exc}"
            stub = types.ModuleType(full)
            stub.build = _unavailable(missing[name])
            sys.modules[full] = stub
            setattr(package, name, stub)
    from app.services.reports import catalogue

    return catalogue, missing


def _unavailable(reason: str):
    def build(*args, **kwargs):
        raise ImportError(reason)

    build.unavailable = reason
    return build


def enable_report_pages() -> str | None:
    """Put the market report routes on their blueprints before the app is made (app/__init__.py
    has them switched off while they are written). Returns why not, if they do not import."""
    try:
        for module in ("app.commissioner.market", "app.commissioner.position", "app.public.market_position"):
            importlib.import_module(module)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def make_app(url: str):
    os.environ.setdefault("APP_ENV", "testing")
    from app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False})


def build_market(people: int, months: int) -> dict[str, float]:
    """Generate the market (timed), write its spend facts (timed), then ANALYZE."""
    from app.database import utcnow
    from app.extensions import db
    from app.services.reports import spend_facts
    from bench import reports_market

    timings = {}
    started = time.perf_counter()
    reports_market.generate(people, months, now=utcnow())
    timings["generation"] = time.perf_counter() - started
    started = time.perf_counter()
    written = spend_facts.rebuild(batch=50_000)
    timings["spend facts"] = time.perf_counter() - started
    print(f"  spend_facts.rebuild(): {written:,} facts in {timings['spend facts']:.1f} s", flush=True)
    started = time.perf_counter()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    timings["analyze"] = time.perf_counter() - started
    return timings


def print_counts() -> None:
    from app.extensions import db

    print("  rows built:")
    for label, table in COUNTED:
        print(f"    {label:<24} {db.session.execute(text(f'SELECT count(*) FROM {table}')).scalar():>12,}")
    db.session.rollback()


def variants():
    """(label, filter, query string) for the default filter and two filtered ones."""
    from app.extensions import db
    from app.models import Booking, Category, WayOfPaying
    from app.services.reports import filters

    base = filters.default_filter()
    home_care = db.session.execute(select(Category).where(Category.slug == "home-care")).scalar_one()
    busiest = db.session.execute(
        select(Booking.area_district)
        .where(Booking.area_district.in_(filters.districts()))
        .group_by(Booking.area_district)
        # the council district with the most bookings
        .order_by(func.count().desc())
        .limit(1)
    ).scalar_one()
    way = WayOfPaying.MANAGED
    return [
        (f"{base.first_month:%b %Y}-{base.last_month:%b %Y}, everything", base, ""),
        ("one type of support (home care)", replace(base, category=home_care), "category=home-care"),
        (f"district {busiest} + {way.label.lower()}", replace(base, district=busiest, way=way), f"district={busiest}&way={way.value}"),
    ]


def timed(call, repeat: int) -> tuple[list[float], str | None]:
    """Milliseconds of ``repeat`` calls after one to warm up, or the first error."""
    from app.extensions import db

    timings = []
    for i in range(repeat + 1):
        started = time.perf_counter()
        try:
            call()
        except Exception as exc:  # a report that fails is reported; the rest still run
            db.session.rollback()
            return timings, f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]} (after {time.perf_counter() - started:.1f} s)"
        elapsed = (time.perf_counter() - started) * 1000
        db.session.rollback()
        if i:
            timings.append(elapsed)
    return timings, None


def line(name: str, label: str, timings: list[float], error: str | None) -> str:
    if error:
        return f"  {name:<14} {label:<40} FAILED: {error}"
    p50, p95 = statistics.median(timings), percentile(timings, 95)
    verdict = "meets" if p95 <= TARGET_MS else "MISSES"
    return f"  {name:<14} {label:<40} {p50:>9,.0f} ms {p95:>9,.0f} ms   target {TARGET_MS:,} ms: {verdict}"


def time_reports(catalogue, repeat: int) -> tuple[list[float], set[str]]:
    """catalogue.run for every report and filter; returns every p95, and the reports that failed."""
    worst, failed = [], set()
    chosen = variants()
    print(f"\n  catalogue.run (service layer), {repeat} runs each after one to warm up{'':<4}{'p50':>12} {'p95':>12}")
    for entry in catalogue.REPORTS:
        if hasattr(entry.build, "unavailable"):
            print(f"  {entry.slug:<14} not run: its module does not import yet ({entry.build.unavailable})")
            failed.add(entry.slug)
            continue
        for label, f, _query in chosen:
            timings, error = timed(lambda entry=entry, f=f: catalogue.run(entry.slug, f), repeat)
            print(line(entry.slug, label, timings, error), flush=True)
            if error:
                failed.add(entry.slug)
            else:
                worst.append(percentile(timings, 95))
    return worst, failed


def commissioner():
    """A commissioner with two-step verification, as the council's accounts have it."""
    import pyotp

    from app.database import utcnow
    from app.extensions import db
    from app.models import Role, User
    from app.services import totp_encryption
    from app.services.passwords import hash_password

    user = User(
        email="commissioner@bench.test",
        name="Bench Commissioner",
        role=Role.COMMISSIONER,
        password_hash=hash_password(PASSWORD),
        totp_secret=totp_encryption.encrypt(pyotp.random_base32()),
        totp_enabled_at=utcnow(),
    )
    db.session.add(user)
    db.session.commit()
    return user


_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def _csrf(response) -> str:
    match = _CSRF.search(response.get_data(as_text=True))
    return match.group(1) or match.group(2)


def sign_in(client, user) -> None:
    """Through the real sign-in form, and its two-step question."""
    import pyotp

    from app.services import two_step

    response = client.post("/sign-in", data={"csrf_token": _csrf(client.get("/sign-in")), "email": user.email, "password": PASSWORD})
    if response.status_code == 302 and response.headers["Location"].endswith("/sign-in/two-step"):
        code = pyotp.TOTP(two_step.plain_secret(user)).now()
        response = client.post("/sign-in/two-step", data={"csrf_token": _csrf(client.get("/sign-in/two-step")), "code": code})
    if response.status_code != 302:
        raise RuntimeError(f"sign-in failed ({response.status_code})")


def time_pages(app, catalogue, failed: set[str], repeat: int) -> list[float]:
    """Each report's whole page as a signed-in commissioner sees it, default filter (not
    those that failed at the service layer: the page would fail the same way)."""
    worst = []
    user = commissioner()
    client = app.test_client()
    sign_in(client, user)
    print(f"\n  whole report page through the Flask test client, signed in, default filter{'':<2}{'p50':>12} {'p95':>12}")
    for entry in catalogue.REPORTS:
        if entry.slug in failed:
            print(f"  {entry.slug:<14} not rendered: it failed or did not import above")
            continue

        def get(slug=entry.slug):
            response = client.get(f"/commissioner/market/{slug}")
            if response.status_code != 200:
                raise RuntimeError(f"HTTP {response.status_code}")

        timings, error = timed(get, repeat)
        print(line(entry.slug, "page, default filter", timings, error), flush=True)
        if timings and not error:
            worst.append(percentile(timings, 95))
    return worst


def time_ledger_check() -> None:
    from app.extensions import db
    from app.services import ledger_check

    started = time.perf_counter()
    problems = ledger_check.check()
    seconds = time.perf_counter() - started
    db.session.rollback()
    verdict = "no problems" if not problems else f"{len(problems)} PROBLEMS: " + "; ".join(str(p) for p in problems[:3])
    print(f"\n  ledger_check.check() (`flask ledger check`): {seconds:.1f} s, {verdict}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args(argv)
    url = make_url(os.environ.get("BENCH_REPORTS_DATABASE_URL", DEFAULT_URL))
    print(f"Market reports on PostgreSQL: {args.people:,} people, {args.months} months, {os.cpu_count()} cores")
    _recreate_database(url)
    catalogue, missing = load_catalogue()
    pages_off = enable_report_pages()
    app = make_app(url.render_as_string(hide_password=False))
    from flask_migrate import upgrade

    from app.extensions import db

    with app.app_context():
        upgrade()
        timings = build_market(args.people, args.months)
        print(
            f"  generated in {timings['generation']:.1f} s, then spend facts {timings['spend facts']:.1f} s"
            f" and VACUUM ANALYZE {timings['analyze']:.1f} s"
        )
        print_counts()
        for name, reason in missing.items():
            print(f"  report module {name} does not import yet: {reason}")
        worst, failed = time_reports(catalogue, args.repeat)
        if pages_off:
            print(f"\n  report pages not timed: the market routes do not import ({pages_off})")
        else:
            worst += time_pages(app, catalogue, failed, args.repeat)
        time_ledger_check()
        if worst:
            print(f"  worst p95 {max(worst):,.0f} ms against the {TARGET_MS:,} ms target")
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    main()
