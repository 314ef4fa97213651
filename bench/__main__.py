"""Search benchmark: `make bench` (or `python -m bench [SIZE ...]`). Prints figures; it
is not a test and asserts nothing.

For each size (10,000 and 100,000 services by default, from a tenth as many providers):
generates a synthetic market in its own database, builds the search index (timed), then
measures p50/p95 latency of nine typical searches at the service layer (printed at once)
and over HTTP through gunicorn on a loopback port, beside a minimal route that renders
base.html in the same gunicorn, timed after each search request so that both see the same
load: the median of every search page request is compared with the minimal route's (the
target is within 2x). It checks that the page finds the same totals as the service layer
for the same search, times how long an edit takes from its commit to showing in search,
and times the searches again while another process edits a listing every second.

Settings (environment): BENCH_DATABASE_URL (default
postgresql+psycopg://postgres@127.0.0.1:5432/bench_search; a SQLite URL works too),
BENCH_REPEAT (timed requests per search, default 60), BENCH_WORKERS (gunicorn workers,
default 2), BENCH_EDIT_SECONDS (how long searches are timed while another process edits a
listing every second, default 20).
"""

from __future__ import annotations

import http.client
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_search"
TARGETS = {10_000: (50, None), 100_000: (250, 60)}  # HTTP p95 ms, index build s
PAGE_RATIO_TARGET = 2.0  # the search page's median within this many times the minimal route's

# Nine typical searches; those with a postcode go round many districts, so no two
# consecutive requests are the same search.
SEARCHES = [
    ("home care near a postcode, 10 miles", {"q": "home care", "radius_miles": "10"}, True),
    ("'care', everywhere (broadest)", {"q": "care"}, False),
    ("day centres within 15 miles, nearest first", {"category": "day-opportunities", "radius_miles": "15", "sort": "distance"}, True),
    (
        "dementia, Good or better, under £25, prepaid card",
        {"q": "dementia", "min_cqc_rating": "good", "max_price_pence": "2500", "funding": "prepaid_card"},
        False,
    ),
    (
        "respite on Saturdays, framework only, by price",
        {"q": "respite", "day": "saturday", "framework_only": "true", "sort": "price"},
        False,
    ),
    ("'care', reviews 4 stars or more, best reviewed first", {"q": "care", "min_review_rating": "4", "sort": "reviews"}, False),
    ("everyday words: 'my dad needs help with a bath', near", {"q": "my dad needs help with a bath", "radius_miles": "10"}, True),
    (
        "a long description of many needs (most of the words)",
        {
            "q": "my husband had a stroke and is lonely at home all day, I am worn out looking after him, "
            "he cannot get in the bath and the garden is a mess, he needs his tablets and a lift to the hospital"
        },
        False,
    ),
    ("nothing found, 5 miles: the broader search is worked out", {"q": "zeppelin lessons", "radius_miles": "5"}, True),
]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def reset_database(url: str) -> None:
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        path = Path(parsed.database)
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}).scalar():
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()
    engine = create_engine(parsed, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def gunicorn_env(url: str, index_dir: str, base: dict | None = None) -> dict[str, str]:
    """The environment the bench's gunicorn runs the app in: production settings, as a
    real deployment has them, with the outside services it does not need switched off
    (email goes to the log, rate limits are off and kept in memory). tests/test_bench.py
    builds the app in it, so a tightened production check cannot break `make bench`."""
    return dict(
        os.environ if base is None else base,
        APP_ENV="production",
        SECRET_KEY="bench-only-secret-key-not-used-anywhere-else-0123456789",
        TOTP_ENCRYPTION_KEY="YmVuY2gtb25seS10b3RwLWtleS1ub3QtYS1zZWNyZXQ=",  # bench only: b"bench-only-totp-key-not-a-secret"
        DATABASE_URL=url,
        SEARCH_INDEX_DIR=index_dir,
        DEMO_MODE="0",
        MAIL_BACKEND="log",
        PUBLIC_BASE_URL="https://127.0.0.1",
        RATELIMIT_ENABLED="0",
        RATELIMIT_STORAGE_URI="memory://",
        RATELIMIT_ALLOW_MEMORY="1",
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(port: int, env: dict[str, str], workers: int) -> subprocess.Popen:
    """bench.wsgi:app under gunicorn on a loopback port (reading gunicorn.conf.py)."""
    command = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}", "--log-level", "warning"]
    return subprocess.Popen([*command, "bench.wsgi:app"], cwd=ROOT, env=env)


def wait_until_serving(server: subprocess.Popen, port: int, *, seconds: float) -> None:
    """Until the minimal route answers (raises if gunicorn stops or takes longer)."""
    deadline = time.time() + seconds
    while True:
        try:
            if http_get(port, "/bench/base")[0] == 200:
                return
        except OSError:
            pass
        if server.poll() is not None or time.time() > deadline:
            raise RuntimeError("gunicorn did not start: see its errors above")
        time.sleep(0.05)


def http_get(port: int, path: str, *, body: bool = False):
    """(status, milliseconds), and the page's text with ``body``."""
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    elapsed = (time.perf_counter() - started) * 1000
    return (response.status, elapsed, data.decode("utf-8")) if body else (response.status, elapsed)


_FOUND_RE = re.compile(r'role="status">\s*(No|[\d,]+) services? found')


def page_total(html: str) -> int | None:
    """The number of results the search page says it found."""
    match = _FOUND_RE.search(html)
    if match is None:
        return None
    return 0 if match.group(1) == "No" else int(match.group(1).replace(",", ""))


def query_string(params: dict, postcode: str | None, page: int) -> str:
    from urllib.parse import urlencode

    args = dict(params)
    if postcode:
        args["postcode"] = postcode
    if page > 1:
        args["page"] = str(page)
    return urlencode(args)


def summary(timings: list[float]) -> str:
    return f"{statistics.median(timings):>8.1f}ms {percentile(timings, 95):>6.1f}ms"


def http_timings(port: int, postcodes: list[str], repeat: int, offset: int, base: list[float] | None = None) -> list[list[float]]:
    """Each search's timings; with ``base``, the minimal route is timed after each search
    request too (added to it), so both see the same load on a busy machine."""
    rows = []
    for name, params, with_postcode in SEARCHES:
        timings = []
        for i in range(repeat):
            postcode = postcodes[(i * 5 + offset) % len(postcodes)] if with_postcode else None
            page = 1 if name.startswith("nothing found") else i % 3 + 1  # a search that finds nothing has one page
            status, elapsed = http_get(port, "/search?" + query_string(params, postcode, page))
            assert status == 200, (status, name)
            timings.append(elapsed)
            if base is not None:
                base.append(http_get(port, "/bench/base")[1])
        rows.append(timings)
    return rows


def run_size(size: int, url: str, repeat: int, workers: int, edit_seconds: float = 20.0) -> dict:
    from flask_migrate import upgrade
    from sqlalchemy import select
    from werkzeug.datastructures import MultiDict

    from app import create_app
    from app.database import write_transaction
    from app.extensions import db
    from app.models import Service, ServiceStatus
    from app.services import search
    from app.services.search import params as search_params
    from bench import market

    work = OUT / str(size)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    index_dir = str(work / "index")
    print(f"\n=== {size:,} services, {size // 10:,} providers ({make_url(url).get_backend_name()}) ===", flush=True)
    reset_database(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SEARCH_INDEX_DIR": index_dir})
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        data = market.generate(size)
        print(f"  market generated in {time.perf_counter() - started:.1f}s")
        db.session.remove()

        started = time.perf_counter()
        report = search.rebuild()
        build = time.perf_counter() - started
        print(f"  index build: {build:.1f}s for {report.documents:,} listed services", flush=True)

        postcodes = [f"{code} 1AA" for code in data["districts"][::7]]
        started = time.perf_counter()
        search.search(search_params.params_from_args(MultiDict({"q": "care"})))
        print(f"  first search in a fresh process (loads the index into memory): {(time.perf_counter() - started) * 1000:.0f} ms")

        service_rows = []
        for name, params, with_postcode in SEARCHES:
            timings, totals = [], set()
            for i in range(repeat + 5):
                args = MultiDict(params)
                if with_postcode:
                    args["postcode"] = postcodes[i % len(postcodes)]
                args["page"] = "1" if name.startswith("nothing found") else str(i % 3 + 1)
                started = time.perf_counter()
                results = search.search(search_params.params_from_args(args))
                elapsed = (time.perf_counter() - started) * 1000
                totals.add(results.total)
                if i >= 5:
                    timings.append(elapsed)
            service_rows.append((name, timings, max(totals)))
        # The same search, page 1, for comparing totals with the page over HTTP.
        check_totals = []
        for _name, params, with_postcode in SEARCHES:
            args = MultiDict(params)
            if with_postcode:
                args["postcode"] = postcodes[0]
            check_totals.append(search.search(search_params.params_from_args(args)).total)
        listed = list(
            db.session.execute(select(Service.id).where(Service.status == ServiceStatus.PUBLISHED).order_by(Service.id)).scalars()
        )
        db.session.remove()

    print(f"  service layer (this process){'':<24} {'results':>8} {'p50':>10} {'p95':>8}")
    for name, timings, total in service_rows:
        print(f"  {name:<52} {total:>8,} {summary(timings)}")
    print("  (results: the most any of the timed variants found)", flush=True)

    port = free_port()
    server = start_gunicorn(port, gunicorn_env(url, index_dir), workers)
    import multiprocessing

    figures: dict = {"size": size, "build": build}
    try:
        wait_until_serving(server, port, seconds=60)
        # Warm every worker: each loads the index into memory on its first search.
        for _name, params, with_postcode in SEARCHES:
            for i in range(workers * 4):
                http_get(port, "/search?" + query_string(params, postcodes[i] if with_postcode else None, 1))
        page_totals = []
        for _name, params, with_postcode in SEARCHES:
            status, _, html = http_get(port, "/search?" + query_string(params, postcodes[0] if with_postcode else None, 1), body=True)
            page_totals.append(page_total(html))
        base: list[float] = []
        http_rows = http_timings(port, postcodes, repeat, 3, base)

        print(f"  HTTP through gunicorn ({workers} workers){'':<13} {'p50':>19} {'p95':>8}")
        for (name, _, _), timings in zip(service_rows, http_rows):
            print(f"  {name:<52} {'':>8} {summary(timings)}")
        print(f"  {'minimal route rendering base.html':<52} {'':>8} {summary(base)}")
        page_median, base_median = statistics.median(t for timings in http_rows for t in timings), statistics.median(base)
        ratio = page_median / base_median
        print(
            f"  search page median {page_median:.1f} ms (all nine searches), minimal route median {base_median:.1f} ms: "
            f"{ratio:.1f}x, {'meets' if ratio <= PAGE_RATIO_TARGET else 'MISSES'} the target of within {PAGE_RATIO_TARGET:g}x",
            flush=True,
        )
        print("  totals for the same search (first postcode), service layer and page:")
        for (name, _, _), service_total, http_total in zip(SEARCHES, check_totals, page_totals):
            verdict = "same" if service_total == http_total else "DIFFER"
            print(f"    {name:<50} {service_total:>8,} {http_total if http_total is not None else '?':>8,} {verdict}")

        # From an edit's commit to the edit showing in search (another process edits; each
        # worker refreshes its snapshot on its next search).
        visible = []
        with app.app_context():
            for n in range(10):
                service_id = listed[(n * 7919) % len(listed)]
                word = f"zqxbench{size}n{n}"
                started = time.perf_counter()
                with write_transaction() as session:
                    service = session.get(Service, service_id)
                    service.title = f"{service.title.split(' zqx')[0]} {word}"
                while True:
                    status, _, html = http_get(port, f"/search?q={word}", body=True)
                    if page_total(html) == 1:
                        break
                    if time.perf_counter() - started > 30:
                        raise RuntimeError(f"edit not visible after 30 s: {word}")
                visible.append((time.perf_counter() - started) * 1000)
            db.session.remove()
        print(f"  edit commit to visible in search (10 edits): p50 {statistics.median(visible):.0f} ms, max {max(visible):.0f} ms")

        # Searches while another process edits one listing every second.
        ctx = multiprocessing.get_context("spawn")
        stop, counter = ctx.Event(), ctx.Value("i", 0)
        writer = ctx.Process(target=market.edit_listings, args=(url, index_dir, listed[::13], stop, counter, 1.0), daemon=True)
        writer.start()
        try:
            time.sleep(3)  # let it start editing
            edits_before = counter.value
            started = time.perf_counter()
            busy_rows = [[] for _ in SEARCHES]
            offset = 1
            while True:  # rounds of the five searches, for at least BENCH_EDIT_SECONDS
                for timings, more in zip(busy_rows, http_timings(port, postcodes, repeat, offset)):
                    timings.extend(more)
                offset += 2
                if time.perf_counter() - started >= edit_seconds:
                    break
            seconds = time.perf_counter() - started
            edits = counter.value - edits_before
        finally:
            stop.set()
            writer.join(30)
        print(f"  HTTP while another process edits a listing every second ({edits} edits in {seconds:.0f} s):")
        for (name, _, _), timings in zip(service_rows, busy_rows):
            print(f"  {name:<52} {'':>8} {summary(timings)}")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)

    target_ms, target_build = TARGETS.get(size, (None, None))
    worst = max(percentile(t, 95) for t in http_rows)
    worst_busy = max(percentile(t, 95) for t in busy_rows)
    if target_ms:
        for label, value in (("worst HTTP p95", worst), ("worst HTTP p95 while editing", worst_busy)):
            verdict = "meets" if value <= target_ms else "MISSES"
            print(f"  {label} {value:.1f} ms: {verdict} the target of {target_ms} ms")
    if target_build:
        verdict = "meets" if build <= target_build else "MISSES"
        print(f"  index build {build:.1f} s: {verdict} the target of {target_build} s")
    figures.update(worst=worst, worst_busy=worst_busy, visible=visible)
    return figures


def main(argv: list[str]) -> None:
    sizes = [int(a.replace(",", "").replace("_", "")) for a in argv] or [10_000, 100_000]
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    repeat = int(os.environ.get("BENCH_REPEAT", "60"))
    workers = int(os.environ.get("BENCH_WORKERS", "2"))
    edit_seconds = float(os.environ.get("BENCH_EDIT_SECONDS", "20"))
    print(f"Search benchmark on {os.cpu_count()} cores: {repeat} timed requests per search, gunicorn with {workers} sync workers")
    for size in sizes:
        run_size(size, url, repeat, workers, edit_seconds)


if __name__ == "__main__":
    main(sys.argv[1:])
