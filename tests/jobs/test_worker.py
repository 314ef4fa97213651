"""`flask worker` starts, runs the jobs due on its first look at the clock (the
every-minute ones), and stops cleanly on Ctrl+C (SIGINT), on SQLite's queue file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from app.extensions import db
from app.models import JobRun, RunOutcome
from app.services import jobs


def test_the_worker_runs_the_jobs_due_and_stops_cleanly(app, tmp_path):
    db.session.commit()
    env = dict(os.environ)
    env.update(
        APP_ENV="development",
        FLASK_APP="wsgi.py",
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        INSTANCE_PATH=str(tmp_path),
        SEARCH_INDEX_DIR=str(tmp_path / "search-index"),
        JOBS_QUEUE_FILE=str(tmp_path / "jobs-queue.sqlite3"),
        MAIL_BACKEND="log",
    )
    for name in ("JOBS_REDIS_URL", "RATELIMIT_STORAGE_URI", "STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY"):
        env.pop(name, None)
    flask = str(Path(sys.executable).parent / "flask")
    worker = subprocess.Popen(
        [flask, "worker", "--threads", "2"],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline, run = time.monotonic() + 120, None
        while run is None and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.5)
            db.session.rollback()
            run = db.session.execute(select(JobRun).where(JobRun.job == "send-email", JobRun.outcome == RunOutcome.OK)).scalars().first()
            db.session.rollback()  # no read left open while the worker writes
    finally:
        worker.send_signal(signal.SIGINT)
        try:
            output, _ = worker.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            output, _ = worker.communicate()
    text = output.decode(errors="replace")
    assert run is not None, "the worker recorded no run of send-email within 120 seconds:\n" + text[-3000:]
    assert run.trigger == "schedule" and run.pid == worker.pid
    assert worker.returncode == 0, text[-2000:]
    assert f"Worker: {len(jobs.JOBS)} scheduled jobs, queue in the SQLite file" in text
