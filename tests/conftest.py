"""Test fixtures.

Every test that uses the ``app`` fixture (directly or through ``client``, ``db_session``
or a factory) runs twice: on SQLite and on PostgreSQL. PostgreSQL runs need
``TEST_DATABASE_URL``, for example::

    TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test make test

Without it they are skipped with a message saying so, unless ``REQUIRE_POSTGRES=1`` (CI
sets it): then a missing or unreachable PostgreSQL fails those runs instead of skipping
them, so CI can never pass on SQLite alone. To get a PostgreSQL elsewhere:
``docker run -e POSTGRES_HOST_AUTH_METHOD=trust -p 5432:5432 postgres:15`` or, on Debian,
``apt-get install postgresql`` then ``pg_ctlcluster 15 main start``.

The schema always comes from the migrations (never ``create_all``), once per backend per
test worker; each test then gets a clean copy (SQLite: a copied file; PostgreSQL: every
table emptied and the migrations' seed rows put back).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from jinja2 import BytecodeCache
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError

os.environ.setdefault("APP_ENV", "testing")

from app import create_app
from app.extensions import db as _db

PG_SKIP_MESSAGE = (
    "PostgreSQL run skipped: set TEST_DATABASE_URL, e.g. "
    "TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test make test "
    "(start a server with `pg_ctlcluster 15 main start` or "
    "`docker run -e POSTGRES_HOST_AUTH_METHOD=trust -p 5432:5432 postgres:15`)"
)

pytest_plugins = ["tests.factories", "tests.payments_fixtures"]


def _share_url_builders() -> None:
    """Most of the cost of making an app (each test makes its own) was werkzeug writing and
    compiling a Python function to build URLs for each route. That code depends only on
    the rule, its defaults and whether unknown arguments go in the query string, and reads
    everything else from the rule it is bound to; so every app in this test process shares
    it. A werkzeug without this method is left as it is."""
    from werkzeug.routing.rules import Rule

    original = getattr(Rule, "_compile_builder", None)
    if original is None or getattr(original, "shared", False):
        return
    builders: dict[tuple, object] = {}

    def compile_builder(self, append_unknown: bool = True):
        key = (self.rule, tuple(self._trace), repr(sorted((self.defaults or {}).items())), append_unknown)
        if key not in builders:
            builders[key] = original(self, append_unknown)
        return builders[key]

    compile_builder.shared = True
    Rule._compile_builder = compile_builder


_share_url_builders()


@dataclass
class TestDatabase:
    backend: str  # "sqlite" or "postgresql"
    url: str
    template_path: Path | None = None  # SQLite: migrated file copied for each test
    seed_rows: dict | None = None  # PostgreSQL: rows the migrations insert (reference data)
    engine: Engine | None = None  # PostgreSQL: kept for emptying the database before each test
    superuser: bool = False


def _worker_suffix() -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return f"_{worker}" if worker else ""


def postgres_required() -> bool:
    """REQUIRE_POSTGRES=1 (CI): the PostgreSQL runs must happen, never be skipped."""
    return os.environ.get("REQUIRE_POSTGRES", "").strip().lower() in ("1", "true", "yes", "on")


def skip_or_fail_without_postgres(reason: str | None = None) -> None:
    """Skip a PostgreSQL run that cannot happen, saying why; fail it under REQUIRE_POSTGRES=1."""
    if postgres_required():
        pytest.fail(
            "REQUIRE_POSTGRES=1, so the PostgreSQL runs must happen, but "
            + (reason or "TEST_DATABASE_URL is not set (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"),
            pytrace=False,
        )
    pytest.skip(reason or PG_SKIP_MESSAGE)


def _postgres_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return None
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    parsed = parsed.set(database=(parsed.database or "test") + _worker_suffix())
    try:
        _ensure_pg_database(parsed)
    except OperationalError as exc:
        skip_or_fail_without_postgres(
            f"PostgreSQL at {parsed.render_as_string(hide_password=True)} is unreachable "
            f"({str(exc.orig).strip().splitlines()[0] if exc.orig else exc}). Start it (`pg_ctlcluster 15 main start`) "
            "or point TEST_DATABASE_URL at a running server."
        )
    return parsed.render_as_string(hide_password=False)


def _ensure_pg_database(url) -> None:
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}).scalar()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    finally:
        admin.dispose()


def _migrate(url: str, tmp: Path) -> None:
    """Apply every migration to an empty database at ``url``."""
    from flask_migrate import upgrade

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SEARCH_INDEX_DIR": str(tmp / "index")})
    with app.app_context():
        if url.startswith("postgresql"):
            with _db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade()
        _db.session.remove()
        _db.engine.dispose()


def _table_names(bind) -> list[str]:
    return [t for t in inspect(bind).get_table_names() if t != "alembic_version"]


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def test_database(request, tmp_path_factory) -> TestDatabase:
    tmp = tmp_path_factory.mktemp(f"db-{request.param}")
    if request.param == "postgresql":
        url = _postgres_url()
        if url is None:
            skip_or_fail_without_postgres()
        _migrate(url, tmp)
        engine = create_engine(url)
        seed: dict[str, list[dict]] = {}
        with engine.connect() as conn:
            for table in _table_names(engine):
                rows = [dict(r._mapping) for r in conn.execute(text(f'SELECT * FROM "{table}"'))]
                if rows:
                    seed[table] = rows
        engine.dispose()
        return TestDatabase("postgresql", url, seed_rows=seed)
    path = tmp / "template.sqlite3"
    url = f"sqlite:///{path}"
    _migrate(url, tmp)
    return TestDatabase("sqlite", url, template_path=path)


def is_superuser(conn) -> bool:
    return bool(conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar())


def empty_postgres(conn, *, superuser: bool) -> None:
    """Empty every table, with every sequence starting again, in ``conn``'s transaction.

    A superuser (as in CI) deletes the rows of only the tables that have any, with triggers
    (foreign keys, the append-only guards) off for the transaction: many times faster than
    TRUNCATE, which makes new files for every table and index. Otherwise TRUNCATE."""
    tables = _table_names(conn)
    if not superuser:
        if tables:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        return
    conn.execute(text("SET LOCAL session_replication_role = replica"))
    if tables:
        used = " UNION ALL ".join(f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM \"{t}\")" for t in tables)
        for table in conn.execute(text(used)).scalars().all():
            conn.execute(text(f'DELETE FROM "{table}"'))
    conn.execute(
        text(
            "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, start_value, false) "
            "FROM pg_sequences WHERE schemaname = current_schema() AND last_value IS NOT NULL"
        )
    )


def _reset_postgres(database: TestDatabase) -> None:
    """Every table emptied and the migrations' seed rows put back."""
    if database.engine is None:
        database.engine = create_engine(database.url)
        with database.engine.connect() as conn:
            database.superuser = is_superuser(conn)
    with database.engine.begin() as conn:
        empty_postgres(conn, superuser=database.superuser)
        metadata_tables = _db.metadata.tables
        for table, rows in (database.seed_rows or {}).items():
            conn.execute(metadata_tables[table].insert(), rows)
            # Keep sequences ahead of seeded ids.
            if "id" in rows[0]:
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM \"{table}\"))"))


class _SharedBytecodeCache(BytecodeCache):
    """Compiled templates kept in memory for every test's app in this process: each test
    makes a new app, and compiling the templates again for each (the GOV.UK macros are
    large) cost more than most tests. Jinja checks each template's source against its
    checksum, so an edited template is compiled again; every app sets Jinja up alike."""

    def __init__(self):
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_TEMPLATE_BYTECODE = _SharedBytecodeCache()


class ClosingClient(FlaskClient):
    """The test client closing each response once read, as a WSGI server does after
    writing it (work the app leaves until then, such as the search log, is done)."""

    def open(self, *args, buffered: bool = True, **kwargs):
        return super().open(*args, buffered=buffered, **kwargs)


@pytest.fixture
def app(test_database: TestDatabase, tmp_path):
    if test_database.backend == "sqlite":
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(test_database.template_path, path)
        url = f"sqlite:///{path}"
    else:
        _reset_postgres(test_database)
        url = test_database.url
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            # Enough connections for the concurrency tests' 50 simultaneous clients.
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 60, "pool_timeout": 60},
            "SEARCH_INDEX_DIR": str(tmp_path / "search-index"),
            "INSTANCE_PATH": str(tmp_path),
            "SERVER_NAME": "localhost",
            "TESTING": True,
        }
    )
    app.config["DB_BACKEND"] = test_database.backend
    app.jinja_env.bytecode_cache = _TEMPLATE_BYTECODE
    app.test_client_class = ClosingClient
    with app.app_context():
        yield app
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture(scope="session")
def snapshots(tmp_path_factory):
    """Database and search index snapshots of expensive starting points, kept for the
    session in this worker (see tests/snapshots.py)."""
    from tests.snapshots import Snapshots

    return Snapshots(tmp_path_factory.mktemp("snapshots"))


@pytest.fixture
def db_session(app):
    return _db.session


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def backend(app) -> str:
    return app.config["DB_BACKEND"]
