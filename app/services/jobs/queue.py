"""The worker's queue and clock, on huey: every job in the table becomes a huey periodic
task on its crontab (UK time), and one plain task runs a job asked for now ("Run now").

Storage: Redis when JOBS_REDIS_URL is set (or the rate limits' redis:// store), which every
host's worker and web process share; otherwise a SQLite file under instance/ (one host).
Tests use huey's immediate mode: a job asked for runs at once, in the asking process.
Each worker's scheduler enqueues every due job each minute; with several workers the
lease in the database (see running) lets one of them run it.

The queue is made on first use, not when the app is made (no I/O at start-up).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Flask
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey

from app.services.jobs import running
from app.services.jobs.table import JOBS

QUEUE_NAME = "marketplace-jobs"
RUN_NOW = "run-job-now"


@dataclass(frozen=True)
class Queue:
    huey: Huey
    run_now: object  # the huey task: run_now(name, trigger)


def queue_for(app: Flask) -> Queue:
    queue = app.extensions.get("jobs_queue")
    if queue is None:
        queue = app.extensions["jobs_queue"] = make_queue(app)
    return queue


def make_queue(app: Flask) -> Queue:
    config = app.config
    if config.get("JOBS_IMMEDIATE"):
        huey: Huey = MemoryHuey(QUEUE_NAME, immediate=True, results=False)
    elif config.get("JOBS_REDIS_URL"):
        huey = RedisHuey(QUEUE_NAME, url=config["JOBS_REDIS_URL"], results=False)
    else:
        huey = SqliteHuey(QUEUE_NAME, filename=config["JOBS_QUEUE_FILE"], results=False)

    @huey.task(name=RUN_NOW)
    def run_now(name: str, trigger: str) -> None:
        with app.app_context():
            running.run(name, trigger=trigger)

    for job in JOBS:
        huey.periodic_task(job.schedule.matches_naive_utc, name=f"scheduled-{job.name}")(_scheduled(app, job.name))
    return Queue(huey=huey, run_now=run_now)


def _scheduled(app: Flask, name: str):
    def run_on_schedule() -> None:
        with app.app_context():
            running.run(name, trigger="schedule")

    return run_on_schedule


def enqueue(app: Flask, name: str, trigger: str) -> None:
    """Ask the worker to run the job now (immediate mode: run it here and now)."""
    queue_for(app).run_now(name, trigger)


def storage_in_words(app: Flask) -> str:
    config = app.config
    if config.get("JOBS_IMMEDIATE"):
        return "in this process (immediate mode)"
    if config.get("JOBS_REDIS_URL"):
        return "Redis"
    return f"the SQLite file {config['JOBS_QUEUE_FILE']}"


def run_worker(app: Flask, *, threads: int) -> None:
    """Run the worker until it is stopped: Ctrl+C or SIGINT lets the jobs running finish;
    SIGTERM stops at once (a job stopped mid-way is finished by its next run)."""
    queue = queue_for(app)
    if queue.huey.immediate:
        raise RuntimeError("The worker cannot run in immediate mode (JOBS_IMMEDIATE): jobs run where they are asked for.")
    huey_log = logging.getLogger("huey")
    if not huey_log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("[%(asctime)s] %(levelname)s %(name)s: %(message)s"))
        huey_log.addHandler(handler)
    huey_log.setLevel(logging.INFO)
    consumer = queue.huey.create_consumer(workers=threads, worker_type="thread", periodic=True, check_worker_health=True)
    consumer.run()
