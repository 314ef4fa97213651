"""What a load-test phase runs against, each on its own free port on 127.0.0.1: a fresh
PostgreSQL database made from the loaded demo market, Redis for the rate-limit counts
(shared by every worker, as production needs), localstripe, and gunicorn with N workers."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from contextlib import ExitStack, contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
STRIPE_KEYS = {
    "STRIPE_SECRET_KEY": "sk_test_loadtest_localstripe",
    "STRIPE_PUBLISHABLE_KEY": "pk_test_loadtest_localstripe",
    "STRIPE_WEBHOOK_SECRET": "whsec_loadtest_localstripe",
}
# One line per request: status, method and path, microseconds (scanned for 5xx afterwards).
ACCESS_FORMAT = '%(s)s %(m)s "%(U)s" %(D)s'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_env(database_url: str, workdir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The app's settings: production's where a plain-HTTP loopback run allows them (a real
    secret key, PostgreSQL with its timeouts, rate limits on and shared in Redis, email to
    the log as no SMTP server is here). Not production itself: APP_ENV=production refuses
    demo data, sets Secure cookies (never sent back over http://) and asks council staff
    for two-step codes, so the run is development with DEMO_MODE on."""
    return dict(
        os.environ,
        FLASK_APP="wsgi.py",
        APP_ENV="development",
        DEMO_MODE="1",
        SECRET_KEY=secrets.token_urlsafe(48),
        DATABASE_URL=database_url,
        INSTANCE_PATH=str(workdir / "instance"),
        SEARCH_INDEX_DIR=str(workdir / "search-index"),
        MAIL_BACKEND="log",
        RATELIMIT_ENABLED="1",
        RATELIMIT_STORAGE_URI="memory://",
        **(extra or {}),
    )


def flask(env: dict[str, str], *args: str, quiet: bool = False) -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).parent / "flask"), *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=quiet, text=True)


def recreate_database(url: str, template: str | None = None) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{parsed.database}"' + (f' TEMPLATE "{template}"' if template else "")))
    admin.dispose()


def drop_database(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


def copy_index(source: Path, target: Path) -> None:
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)


def wait_for(url: str, process: subprocess.Popen, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{what} did not start (see its errors above)") from None
            time.sleep(0.2)


@contextmanager
def running(command: list[str], env: dict[str, str], *, log: Path | None = None):
    """A process for the length of the block, then terminated (and waited for)."""
    out = open(log, "w", encoding="utf-8") if log else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log:
            out.close()


@contextmanager
def served(env: dict[str, str], workers: int, workdir: Path):
    """Redis, localstripe and gunicorn for one phase: yields (app URL, localstripe URL, env)."""
    with ExitStack() as processes:
        redis_port, stripe_port, app_port = free_port(), free_port(), free_port()
        processes.enter_context(
            running(
                ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                env,
                log=workdir / "redis.log",
            )
        )
        stripe_url = f"http://127.0.0.1:{stripe_port}"
        stripe = processes.enter_context(
            running([sys.executable, "-m", "tools.localstripe_loopback", "--port", str(stripe_port)], env, log=workdir / "localstripe.log")
        )
        wait_for(f"{stripe_url}/js.stripe.com/v3/", stripe, "localstripe")
        app_url = f"http://127.0.0.1:{app_port}"
        body = urllib.parse.urlencode({"url": f"{app_url}/webhooks/stripe", "secret": STRIPE_KEYS["STRIPE_WEBHOOK_SECRET"]}).encode()
        urllib.request.urlopen(urllib.request.Request(f"{stripe_url}/_config/webhooks/marketplace", data=body, method="POST")).close()
        env = dict(
            env,
            **STRIPE_KEYS,
            STRIPE_API_BASE=stripe_url,
            RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{redis_port}/0",
            PUBLIC_BASE_URL=app_url,
            PORT=str(app_port),
        )
        gunicorn = processes.enter_context(
            running(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--workers",
                    str(workers),
                    "--bind",
                    f"127.0.0.1:{app_port}",
                    "--access-logfile",
                    str(workdir / "access.log"),
                    "--access-logformat",
                    ACCESS_FORMAT,
                    "--error-logfile",
                    str(workdir / "gunicorn.log"),
                    "bench.wsgi:app",
                ],
                env,
                log=workdir / "gunicorn.out",
            )
        )
        wait_for(f"{app_url}/bench/base", gunicorn, "gunicorn")
        yield app_url, stripe_url, env
