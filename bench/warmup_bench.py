"""A new web worker's first search, before and after warming workers at start
(`python -m bench.warmup_bench [--sizes 100000,1000000]`; `make bench` runs it at 100,000).
Prints figures; asserts nothing.

For each size: a synthetic market in its own database (BENCH_WARM_DATABASE_URL, default
PostgreSQL bench_warmup; dropped and recreated) and its index; then gunicorn (2 workers,
BENCH_WORKERS) twice over the same data: with SEARCH_WARM_START=0 (as before: a worker loads
the index on its first search, nothing frozen) and with warming on (gunicorn.conf.py: the
index loaded, templates compiled and gc.freeze() before the first request). Each time it
prints how long the server took to answer at all, the first search in each worker (two at
once, one per worker), p50/p95/p99 of the searches after that, and each worker's memory (RSS and PSS, from
/proc).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from bench.__main__ import (
    OUT,
    free_port,
    gunicorn_env,
    http_get,
    percentile,
    query_string,
    reset_database,
    start_gunicorn,
    wait_until_serving,
)

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_warmup"
SEARCHES = [
    {"q": "care"},
    {"q": "my dad needs help with a bath"},
    {"q": "home care", "funding": "personal_budget"},
    {"q": "dementia", "min_cqc_rating": "good"},
    {"q": "cleaning", "sort": "price_low"},
    {},
]


def build_market(size: int, url: str) -> str:
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from app.services import search
    from bench import market

    index_dir = str(OUT / f"warmup-{size}" / "index")
    reset_database(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SEARCH_INDEX_DIR": index_dir})
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        market.generate(size, progress=lambda *a: None)
        db.session.remove()
        report = search.rebuild()
        print(f"  market and index: {report.documents:,} listed services in {time.perf_counter() - started:.0f} s", flush=True)
    return index_dir


def worker_pids(master: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                found.append(int(entry.name))
    return sorted(found)


def memory_mb(pid: int) -> tuple[float, float]:
    """(RSS, PSS) in MB."""
    rss = pss = 0
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("Rss", "Pss"):
            value = int(rest.split()[0]) / 1024
            rss, pss = (value, pss) if name == "Rss" else (rss, value)
    return rss, pss


def serve(url: str, index_dir: str, workers: int, warm: bool) -> tuple[subprocess.Popen, int, float]:
    port = free_port()
    env = gunicorn_env(url, index_dir)
    env["SEARCH_WARM_START"] = "1" if warm else "0"
    started = time.perf_counter()
    server = start_gunicorn(port, env, workers)
    wait_until_serving(server, port, seconds=600)
    return server, port, time.perf_counter() - started


def first_searches(port: int, workers: int) -> list[float]:
    """One search per worker at once (a sync worker takes one request at a time)."""
    timings: list[float] = []
    path = "/search?" + query_string({"q": "help at home"}, None, 1)

    def one():
        timings.append(http_get(port, path)[1])

    threads = [threading.Thread(target=one) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(timings)


def run(size: int, url: str, workers: int, repeat: int, reuse: bool = False) -> None:
    print(f"\n=== {size:,} services: a new worker's first search, cold and warmed ===", flush=True)
    index_dir = str(OUT / f"warmup-{size}" / "index")
    if not (reuse and Path(index_dir).is_dir()):
        index_dir = build_market(size, url)
    print(f"  {'':<22} {'ready':>7} {'first searches (ms)':>22} {'p50':>7} {'p95':>7} {'p99':>7} {'memory per worker (RSS / PSS MB)':>34}")
    for warm in (False, True):
        server, port, ready = serve(url, index_dir, workers, warm)
        try:
            firsts = first_searches(port, workers)
            timings = []
            for i in range(repeat):
                params = SEARCHES[i % len(SEARCHES)]
                timings.append(http_get(port, "/search?" + query_string(params, None, i % 3 + 1))[1])
            memory = [memory_mb(pid) for pid in worker_pids(server.pid)]
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(60)
        label = "warmed at start" if warm else "cold (as before)"
        first = ", ".join(f"{t:,.0f}" for t in firsts)
        mem = ", ".join(f"{r:,.0f} / {p:,.0f}" for r, p in memory)
        p50, p95, p99 = (percentile(timings, p) for p in (50, 95, 99))
        print(f"  {label:<22} {ready:>6.1f}s {first:>22} {p50:>7.1f} {p95:>7.1f} {p99:>7.1f} {mem:>34}", flush=True)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000")
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("BENCH_REPEAT", "600")))
    parser.add_argument("--reuse", action="store_true", help="use the market and index a previous run left, if there")
    args = parser.parse_args(argv)
    url = os.environ.get("BENCH_WARM_DATABASE_URL", DEFAULT_URL)
    workers = int(os.environ.get("BENCH_WORKERS", "2"))
    print(f"Worker warm-up benchmark on {os.cpu_count()} cores, {make_url(url).get_backend_name()}, gunicorn with {workers} sync workers")
    for size in (int(s.replace(",", "").replace("_", "")) for s in args.sizes.split(",")):
        run(size, url, workers, args.repeat, args.reuse)


if __name__ == "__main__":
    main(sys.argv[1:])
