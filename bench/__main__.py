"""Search benchmark: `make bench` (or `python -m bench [SIZE ...]`). Prints figures; it
is not a test and asserts nothing.

For each size (10,000 and 100,000 services by default, from a tenth as many providers):
generates a synthetic market in its own database, builds the search index (timed), then
measures p50/p95 latency of five typical searches at the service layer and over HTTP
through gunicorn on a loopback port, beside a minimal route that renders base.html in
the same gunicorn, so the ratio is measured in one run.

Settings (environment): BENCH_DATABASE_URL (default
postgresql+psycopg://postgres@127.0.0.1:5432/bench_search; a SQLite URL works too),
BENCH_REPEAT (timed requests per search, default 60), BENCH_WORKERS (gunicorn workers,
default 2).
"""

from __future__ import annotations

import http.client
import math
import os
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

# Five typical searches; those with a postcode go round many districts, so no two
# consecutive requests are the same search.
SEARCHES = [
    ("home care near a postcode, 10 miles", {"q": "home care", "radius_miles": "10"}, True),
    ("'care', everywhere (broadest)", {"q": "care"}, False),
    ("day centres within 15 miles, nearest first", {"category": "day-opportunities", "radius_miles": "15", "sort": "distance"}, True),
    ("dementia, Good or better, under £25, prepaid card", {"q": "dementia", "min_cqc_rating": "good", "max_price_pence": "2500", "funding": "prepaid_card"}, False),
    ("respite on Saturdays, framework only, by price", {"q": "respite", "day": "saturday", "framework_only": "true", "sort": "price"}, False),
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port: int, path: str) -> tuple[int, float]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status, (time.perf_counter() - started) * 1000


def query_string(params: dict, postcode: str | None, page: int) -> str:
    from urllib.parse import urlencode

    args = dict(params)
    if postcode:
        args["postcode"] = postcode
    if page > 1:
        args["page"] = str(page)
    return urlencode(args)


def run_size(size: int, url: str, repeat: int, workers: int) -> None:
    from app import create_app
    from app.extensions import db
    from app.services import search
    from app.services.search_params import params_from_args
    from bench import market
    from flask_migrate import upgrade
    from werkzeug.datastructures import MultiDict

    work = OUT / str(size)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    index_dir = str(work / "index")
    print(f"\n=== {size:,} services, {size // 10:,} providers ({make_url(url).get_backend_name()}) ===")
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
        print(f"  index build: {build:.1f}s for {report.documents:,} listed services")

        postcodes = [f"{code} 1AA" for code in data["districts"][::7]]
        started = time.perf_counter()
        search.search(params_from_args(MultiDict({"q": "care"})))
        print(f"  first search in a fresh process (loads the index into memory): {(time.perf_counter() - started) * 1000:.0f} ms")

        service_rows = []
        for name, params, with_postcode in SEARCHES:
            timings, totals = [], set()
            for i in range(repeat + 5):
                args = MultiDict(params)
                if with_postcode:
                    args["postcode"] = postcodes[i % len(postcodes)]
                args["page"] = str(i % 3 + 1)
                started = time.perf_counter()
                results = search.search(params_from_args(args))
                elapsed = (time.perf_counter() - started) * 1000
                totals.add(results.total)
                if i >= 5:
                    timings.append(elapsed)
            service_rows.append((name, timings, max(totals)))
        db.session.remove()

    port = free_port()
    env = dict(
        os.environ,
        APP_ENV="production",
        SECRET_KEY="bench-only-secret-key-not-used-anywhere-else-0123456789",
        DATABASE_URL=url,
        SEARCH_INDEX_DIR=index_dir,
        RATELIMIT_ENABLED="0",
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "bench.wsgi:app"],
        cwd=ROOT,
        env=env,
    )
    try:
        deadline = time.time() + 60
        while True:
            try:
                if http_get(port, "/bench/base")[0] == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                raise RuntimeError("gunicorn did not start")
            time.sleep(0.2)
        # Warm every worker: each loads the index into memory on its first search.
        for name, params, with_postcode in SEARCHES:
            for i in range(workers * 4):
                http_get(port, "/search?" + query_string(params, postcodes[i] if with_postcode else None, 1))
        base = [http_get(port, "/bench/base")[1] for _ in range(repeat)]
        http_rows = []
        for name, params, with_postcode in SEARCHES:
            timings = []
            for i in range(repeat):
                status, elapsed = http_get(port, "/search?" + query_string(params, postcodes[(i * 5 + 3) % len(postcodes)] if with_postcode else None, i % 3 + 1))
                assert status == 200, status
                timings.append(elapsed)
            http_rows.append(timings)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)

    target_ms, target_build = TARGETS.get(size, (None, None))
    print(f"  {'search':<52} {'results':>8} {'service p50':>12} {'p95':>7} {'HTTP p50':>10} {'p95':>7}")
    for (name, timings, total), http_timings in zip(service_rows, http_rows):
        print(
            f"  {name:<52} {total:>8,} {statistics.median(timings):>10.1f}ms {percentile(timings, 95):>5.1f}ms"
            f" {statistics.median(http_timings):>8.1f}ms {percentile(http_timings, 95):>5.1f}ms"
        )
    print(f"  {'minimal route rendering base.html':<52} {'':>8} {'':>12} {'':>7} {statistics.median(base):>8.1f}ms {percentile(base, 95):>5.1f}ms")
    worst = max(percentile(t, 95) for t in http_rows)
    if target_ms:
        verdict = "meets" if worst <= target_ms else "MISSES"
        print(f"  worst HTTP p95 {worst:.1f} ms: {verdict} the target of {target_ms} ms")
    if target_build:
        verdict = "meets" if build <= target_build else "MISSES"
        print(f"  index build {build:.1f} s: {verdict} the target of {target_build} s")


def main(argv: list[str]) -> None:
    sizes = [int(a.replace(",", "").replace("_", "")) for a in argv] or [10_000, 100_000]
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    repeat = int(os.environ.get("BENCH_REPEAT", "60"))
    workers = int(os.environ.get("BENCH_WORKERS", "2"))
    print(f"Search benchmark on {os.cpu_count()} cores: {repeat} timed requests per search, gunicorn with {workers} sync workers")
    for size in sizes:
        run_size(size, url, repeat, workers)


if __name__ == "__main__":
    main(sys.argv[1:])
