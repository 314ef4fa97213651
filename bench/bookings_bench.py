"""Benchmark: bookings per second through the service layer on PostgreSQL, beside pgbench.

    python -m bench.bookings_bench [--clients 16[,4,2...]] [--seconds 15] [--warm-up 5]

Needs a PostgreSQL server (BENCH_BOOKINGS_DATABASE_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/bench_bookings)
and the `pgbench` program. Each of the N clients is a separate process with its own
connection, booking one-off visits for its own citizen through `bookings.create()` (the
same call the booking page makes: plan, capacity cells, ledger hold, timeline, in one
transaction), counting the statements each booking sends and the CPU time its own process
spent (with more client processes than cores, each booking costs more CPU: every wait on
the database hands the core to another process, whose work pushes this one's out of the
caches). In the same run, pgbench's built-in TPC-B-like script runs with the same number of
clients against its own database on the same server, for scale.

The clock starts once every client has started and made its ``--warm-up`` bookings (not
counted), as a web server's long-lived workers have: before 8 December 2026 the run started
3 s after the clients were launched, ready or not, so 16 processes still importing the app
on 2 cores, and their first bookings compiling their statements, were in the figure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import queue as queue_module
import re
import shutil
import statistics
import subprocess
import time
import traceback
import uuid

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_bookings"
# Bookings each client makes before the clock starts (not counted): see ``_book_for``.
WARM_UP = 5


def _recreate_database(url) -> None:
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()


def _app(url: str):
    os.environ.setdefault("APP_ENV", "testing")
    from app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 2, "max_overflow": 0}})


def _prepare(url: str, clients: int) -> tuple[list[tuple[int, int]], int]:
    from flask_migrate import upgrade

    from app.database import write_transaction
    from app.extensions import db
    from app.models import (
        BudgetType,
        Category,
        OrgRole,
        PriceUnit,
        Provider,
        ProviderStaff,
        ProviderStatus,
        Role,
        Service,
        ServiceHours,
        ServiceStatus,
        User,
    )
    from app.services import budgets
    from app.services.policy import current_policy

    app = _app(url)
    with app.app_context():
        upgrade()
        with write_transaction():
            category = db.session.query(Category).filter_by(slug="home-care").one()
            provider = Provider(slug="bench-provider", name="Bench Home Care", status=ProviderStatus.VERIFIED)
            db.session.add(provider)
            db.session.flush()
            # Someone to answer the requests: a provider nobody can be reached at takes no bookings.
            owner = User(email="bench-owner@example.test", name="Bench owner", role=Role.PROVIDER)
            db.session.add(owner)
            db.session.flush()
            db.session.add(ProviderStaff(provider_id=provider.id, user_id=owner.id, org_role=OrgRole.OWNER))
            service = Service(
                provider_id=provider.id,
                category_id=category.id,
                title="Bench home care",
                price_pence=100,
                price_unit=PriceUnit.HOUR,
                status=ServiceStatus.PUBLISHED,
                capacity=500,
            )
            service.hours = [ServiceHours(weekday=d, opens_at=dt.time(0, 0), closes_at=dt.time(23, 59)) for d in range(7)]
            db.session.add(service)
            db.session.flush()
            service_id = service.id
            citizens = [User(email=f"bench{i}@example.test", name=f"Bench citizen {i}", role=Role.CITIZEN) for i in range(clients)]
            db.session.add_all(citizens)
        from app.services.ledger import Actor
        from app.uk_time import uk_today

        policy = current_policy()
        start, end = policy.period_containing(uk_today())
        pairs = []
        for citizen in citizens:
            budget = budgets.create_budget(
                citizen=citizen,
                budget_type=BudgetType.MANAGED_ACCOUNT,
                amount_per_period_pence=2_000_000,
                starts_on=start,
                outcomes=["Benchmark"],
                created_by=None,
                policy=policy,
            )
            # The next period too, so there are funded days to book whatever today is (on a
            # period's last day, the current one has none left).
            budgets.fund_budget(budget, end, policy=policy, actor=Actor.system("bench"))
            pairs.append((citizen.id, budget.id))
        db.engine.dispose()
    return pairs, service_id


class _Start:
    """When the clients start booking: each says it is ready (started, warmed up), and once
    all are (or the rest have died) the parent sets the time, a moment ahead, and lets
    them go. So the run measures booking, not 16 processes starting up on 2 cores."""

    def __init__(self):
        self.ready: mp.Queue = mp.Queue()
        self.go = mp.Event()
        self.at = mp.Value("d", 0.0)

    def wait_for_clients(self, procs, timeout: float = 300.0) -> int:
        """Wait until every client still alive is ready, then start them; how many were."""
        ready, deadline = 0, time.time() + timeout
        while ready < len(procs) and time.time() < deadline:
            try:
                self.ready.get(timeout=1.0)
                ready += 1
            except queue_module.Empty:
                if ready >= sum(p.is_alive() for p in procs):
                    break
        self.at.value = time.time() + 0.5
        self.go.set()
        return ready

    def client_ready(self) -> float:
        """In a client: say so, wait for the others, and return the time to start."""
        self.ready.put(os.getpid())
        self.go.wait()
        return self.at.value


def _client(url: str, citizen_id: int, budget_id: int, service_id: int, seconds: float, start: _Start, warm_up: int, queue) -> None:
    """One client process: book ``warm_up`` times, wait for the others, book for
    ``seconds``, then put (latencies, errors, statements, commits, CPU seconds) on the
    queue, or ("failed", traceback) if it could not run at all (the parent reports it)."""
    try:
        queue.put(_book_for(url, citizen_id, budget_id, service_id, seconds, start, warm_up))
    except BaseException:
        queue.put(("failed", traceback.format_exc()))


def _book_for(
    url: str, citizen_id: int, budget_id: int, service_id: int, seconds: float, start: _Start, warm_up: int
) -> tuple[list[float], int, int, int, float]:
    from app.extensions import db
    from app.models import BookingSchedule, PersonalBudget, User
    from app.services import bookings, budgets
    from app.services.policy import current_policy
    from app.uk_time import uk_today

    app = _app(url)
    latencies: list[float] = []
    errors = 0
    with app.app_context():
        policy = current_policy()
        citizen = db.session.get(User, citizen_id)
        budget = db.session.get(PersonalBudget, budget_id)
        # Read once: reading it from the budget each time (expired by the last booking's
        # commit) would open a read transaction the next booking then commits, and count.
        budget_public_id = budget.public_id
        today = uk_today()
        # Every quarter hour from tomorrow to the end of the last funded period (the last
        # start at 22:45, so an hour's visit ends before the service closes at 23:59).
        funded_until = budgets.latest_funded_period_end(budget)
        slots = [
            (today + dt.timedelta(days=d), dt.time(h, m))
            for d in range(1, (funded_until - today).days)
            for h in range(23)
            for m in (0, 15, 30, 45)
        ]
        # People book different times: each client starts at its own place in the diary, so
        # the run measures booking, not 16 clients queueing for one quarter hour's places.
        offset = (citizen_id * 7919) % max(1, len(slots))
        slots = slots[offset:] + slots[:offset]
        if not slots:
            raise RuntimeError(f"no funded days to book after {today} (funded until {funded_until})")

        def book(day: dt.date, at: dt.time) -> None:
            request = bookings.BookingRequest(
                service_id=service_id,
                request_key=uuid.uuid4().hex,
                schedule=BookingSchedule.ONE_OFF,
                first_date=day,
                start_time=at,
                units=1,
                budget_public_id=budget_public_id,
            )
            bookings.create(request, citizen=citizen, booker=citizen, policy=policy)

        # A server's workers are long-lived: the first bookings of a process pay once for
        # compiling its statements (and the server's for preparing them), so they are made
        # before the clock starts, at the far end of this client's diary, and not counted.
        for day, at in slots[len(slots) - warm_up :]:
            book(day, at)
        statements = _StatementCounter(db.engine)
        start_at = start.client_ready()
        while time.time() < start_at:
            time.sleep(0.001)
        end = start_at + seconds
        n = 0
        cpu_began = time.process_time()
        while time.time() < end:
            day, at = slots[n % len(slots)]
            n += 1
            began = time.perf_counter()
            statements.start()
            try:
                book(day, at)
            except Exception:
                statements.stop(counted=False)
                errors += 1
                db.session.rollback()
                continue
            statements.stop(counted=True)
            latencies.append(time.perf_counter() - began)
        cpu = time.process_time() - cpu_began
        db.engine.dispose()
    return latencies, errors, statements.statements, statements.commits, cpu


class _StatementCounter:
    """What the successful bookings sent to the database: every statement sent through
    ``cursor.execute`` (SAVEPOINTs included; psycopg's implicit BEGIN is not one), and,
    apart, the COMMITs. Only what ``bookings.create`` itself sends is counted."""

    def __init__(self, engine):
        self.statements = self.commits = 0
        self._running = self._pending_statements = self._pending_commits = 0
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)

    def _statement(self, *args) -> None:
        self._pending_statements += self._running

    def _commit(self, *args) -> None:
        self._pending_commits += self._running

    def start(self) -> None:
        self._running, self._pending_statements, self._pending_commits = 1, 0, 0

    def stop(self, *, counted: bool) -> None:
        self._running = 0
        if counted:
            self.statements += self._pending_statements
            self.commits += self._pending_commits


def run_bookings(url: str, clients: int, seconds: float, warm_up: int = WARM_UP) -> dict:
    pairs, service_id = _prepare(url, clients)
    queue: mp.Queue = mp.Queue()
    start = _Start()
    procs = [mp.Process(target=_client, args=(url, c, b, service_id, seconds, start, warm_up, queue)) for c, b in pairs]
    launched = time.time()
    for p in procs:
        p.start()
    ready = start.wait_for_clients(procs)
    startup = time.time() - launched
    results, failures = [], []
    deadline = start.at.value + seconds + 120  # the run, and time to finish the last booking
    while len(results) + len(failures) < len(procs):
        try:
            result = queue.get(timeout=1.0)
        except queue_module.Empty:
            # A client that died without a word (killed, out of memory) must not leave us
            # waiting for ever: once none is left running (or at the deadline), stop.
            if time.time() > deadline or not any(p.is_alive() for p in procs):
                missing = len(procs) - len(results) - len(failures)
                codes = sorted({p.exitcode for p in procs if p.exitcode not in (None, 0)})
                failures.extend([f"a client stopped without reporting (exit codes {codes or 'none yet'})"] * missing)
            continue
        if result[0] == "failed":
            failures.append(result[1])
        else:
            results.append(result)
    for p in procs:
        p.join(timeout=30)
        if p.is_alive():
            p.terminate()
    latencies = sorted(x for r in results for x in r[0])
    errors = sum(r[1] for r in results)
    return {
        "ready_clients": ready,
        "startup_seconds": startup,
        "bookings": len(latencies),
        "statements_per_booking": sum(r[2] for r in results) / len(latencies) if latencies else 0,
        "client_cpu_ms": 1000 * sum(r[4] for r in results) / len(latencies) if latencies else 0,
        "commits_per_booking": sum(r[3] for r in results) / len(latencies) if latencies else 0,
        "errors": errors,
        "failed_clients": failures,
        "ledger_problems": _ledger_check(url),
        "per_second": len(latencies) / seconds,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else 0,
        "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))] if latencies else 0,
    }


def _ledger_check(url: str) -> list[str]:
    """Every ledger invariant after the run (`flask ledger check`)."""
    from app.extensions import db
    from app.services import ledger_check

    app = _app(url)
    with app.app_context():
        problems = [str(p) for p in ledger_check.check()]
        db.engine.dispose()
    return problems


def run_pgbench(url, clients: int, seconds: int) -> dict:
    if shutil.which("pgbench") is None:
        return {"error": "pgbench not found (apt-get install postgresql-client)"}
    db_name = f"{url.database}_pgbench"
    _recreate_database(url.set(database=db_name))
    env = dict(os.environ, PGPASSWORD=url.password or "")
    common = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres"]
    subprocess.run(["pgbench", "-i", "-q", "-s", "10", *common, db_name], check=True, env=env, capture_output=True)
    out = subprocess.run(
        ["pgbench", "-c", str(clients), "-j", "2", "-T", str(seconds), *common, db_name],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    ).stdout
    tps = re.search(r"tps = ([\d.]+)", out)
    latency = re.search(r"latency average = ([\d.]+) ms", out)
    return {"tps": float(tps.group(1)) if tps else None, "latency_avg_ms": float(latency.group(1)) if latency else None}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="16", help="clients, or several runs' numbers of clients: 16,4,2")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--warm-up", type=int, default=WARM_UP, help="bookings each client makes before the clock starts")
    args = parser.parse_args(argv)
    url = make_url(os.environ.get("BENCH_BOOKINGS_DATABASE_URL", DEFAULT_URL))
    for clients in (int(n) for n in args.clients.split(",")):
        _report(url, clients, args.seconds, args.warm_up)


def _report(url, clients: int, seconds: int, warm_up: int = WARM_UP) -> None:
    """One run with ``clients`` clients, and pgbench's with as many, printed."""
    _recreate_database(url)
    print(f"Bookings through the service layer on PostgreSQL, {clients} concurrent clients, {seconds} s")
    result = run_bookings(url.render_as_string(hide_password=False), clients, seconds, warm_up)
    print(
        f"  {result['ready_clients']} of {clients} clients ready {result['startup_seconds']:.1f} s after they were launched, "
        f"each after {warm_up} bookings not counted (starting up and compiling); then the clock started"
    )
    print(f"  bookings: {result['bookings']} ({result['errors']} errors)")
    print(f"  bookings per second: {result['per_second']:.1f}")
    print(f"  latency per booking: p50 {result['p50_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms")
    print(f"  CPU per booking in the clients (Python, this process's own time): {result['client_cpu_ms']:.1f} ms")
    print(
        f"  statements per booking: {result['statements_per_booking']:.1f} sent by cursor.execute "
        f"(SAVEPOINTs included, psycopg's implicit BEGIN not), and {result['commits_per_booking']:.1f} COMMIT"
    )
    for failure in result["failed_clients"]:
        print(f"  A client failed: {failure.strip().splitlines()[-1] if failure.strip() else failure}")
    if result["ledger_problems"]:
        print(
            f"  ledger check after the run FAILED: {result['ledger_problems'][0]}"
            + (f" (and {len(result['ledger_problems']) - 1} more)" if len(result["ledger_problems"]) > 1 else "")
        )
    else:
        print("  ledger check after the run: passed (every invariant holds)")
    print(f"pgbench TPC-B-like, {clients} clients, {seconds} s, same server")
    pg = run_pgbench(url, clients, seconds)
    if "error" in pg:
        print(f"  {pg['error']}")
    else:
        print(f"  transactions per second: {pg['tps']:.1f}")
        print(f"  latency average: {pg['latency_avg_ms']:.1f} ms")
        if result["per_second"] and pg["tps"]:
            print(f"  ratio: one booking costs about {pg['tps'] / result['per_second']:.1f} pgbench transactions")


if __name__ == "__main__":
    main()
