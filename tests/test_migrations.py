"""Every table comes from a migration, and the migrated schema matches the models."""

from __future__ import annotations

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from app import create_app
from app.extensions import db
from tests.conftest import _ensure_pg_database, _worker_suffix, skip_or_fail_without_postgres


def _empty_database_url(backend: str, tmp_path, purpose: str = "migrations") -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / f'empty-{purpose}.sqlite3'}"
    raw = os.environ.get("TEST_DATABASE_URL")
    if not raw:
        skip_or_fail_without_postgres()
    url = make_url(raw).set(drivername="postgresql+psycopg")
    url = url.set(database=f"{url.database or 'test'}_{purpose}{_worker_suffix()}")
    try:
        _ensure_pg_database(url)
    except OperationalError as exc:
        skip_or_fail_without_postgres(f"PostgreSQL is unreachable: {exc.orig or exc}")
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url.render_as_string(hide_password=False)


def _diff(app) -> list:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False})
        return compare_metadata(context, db.metadata)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrations_build_exactly_the_models_schema(backend, tmp_path):
    url = _empty_database_url(backend, tmp_path)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SEARCH_INDEX_DIR": str(tmp_path / "ix")})
    with app.app_context():
        try:
            upgrade()
            tables = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
            assert tables == set(db.metadata.tables), "every model table comes from a migration"
            assert _diff(app) == [], "models and migrated schema differ: write a migration"

            # And the way back down leaves nothing behind, then up again works.
            downgrade(revision="base")
            assert set(inspect(db.engine).get_table_names()) - {"alembic_version"} == set()
            upgrade()
            assert _diff(app) == []
        finally:
            db.session.remove()
            db.engine.dispose()


def _check_constraints(inspector) -> dict[str, list[tuple[str | None, str]]]:
    return {
        table: sorted((c["name"], " ".join(c["sqltext"].split())) for c in inspector.get_check_constraints(table))
        for table in sorted(db.metadata.tables)
    }


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrations_create_every_check_constraint_of_the_models(backend, tmp_path):
    """Alembic's comparison does not look at CHECK constraints (no negative balances,
    enum values, price limits...), so compare them here: the models' own, as the
    database reports them after create_all, against the migrated database's."""
    migrated_url = _empty_database_url(backend, tmp_path)
    models_url = _empty_database_url(backend, tmp_path, "models")
    app = create_app({"SQLALCHEMY_DATABASE_URI": migrated_url, "SEARCH_INDEX_DIR": str(tmp_path / "ix")})
    models_engine = create_engine(models_url)
    with app.app_context():
        try:
            upgrade()
            db.metadata.create_all(models_engine)
            expected = _check_constraints(inspect(models_engine))
            migrated = _check_constraints(inspect(db.engine))
            assert sum(len(v) for v in expected.values()) > 50, "the models' CHECK constraints were not all read"
            differences = {t: {"models": expected[t], "migrated": migrated[t]} for t in expected if expected[t] != migrated[t]}
            assert differences == {}, "CHECK constraints differ between the models and the migrations: write a migration"
            assert all(name for constraints in migrated.values() for name, _ in constraints), "every CHECK constraint has a name"
        finally:
            db.session.remove()
            db.engine.dispose()
            models_engine.dispose()


def test_migrations_seed_the_category_taxonomy(db_session):
    from sqlalchemy import select

    from app.models import Category

    names = set(db_session.execute(select(Category.name)).scalars())
    assert {
        "Home care",
        "Personal assistants",
        "Day opportunities",
        "Short breaks and respite",
        "Supported living",
        "Meals",
        "Transport",
        "Equipment and adaptations",
        "Advocacy and support planning",
        "Befriending and community activities",
        "Cleaning and domestic help",
        "Dementia support",
        "Carers' support",
    } <= names


def _run_migration_step(module_name: str, function: str) -> None:
    """Run one step of a migration module on the session's connection, as Alembic would."""
    import importlib.util
    from pathlib import Path

    from alembic.operations import Operations

    path = Path(__file__).resolve().parent.parent / "migrations" / "versions" / f"{module_name}.py"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with Operations.context(MigrationContext.configure(db.session.connection())):
        getattr(module, function)()
    db.session.commit()


def test_the_market_reports_migration_writes_spend_facts_for_money_already_moved(
    app, make_service, make_budget, make_provider, make_user, policy
):
    """A database that moved money before spend facts were kept gets them from its ledger:
    the migration's facts are the ones the app would have written, to the penny and month."""
    from sqlalchemy import func, select

    from app.models import Role, SpendFact
    from app.services import ledger_check
    from tests.services.reports.market_helpers import deliver_booking

    service = make_service(price_pence=2_345, capacity=5, hours=[(d, "08:00", "20:00") for d in range(7)])
    staff = make_user(Role.PROVIDER)
    deliver_booking(service, make_budget(amount=50_000), staff=staff, policy=policy, units=2)
    deliver_booking(service, make_budget(amount=50_000), staff=staff, policy=policy, delivered_units=1, units=2, at="12:00")
    kept = sorted(
        tuple(row) for row in db.session.execute(select(SpendFact.entry_id, SpendFact.month, SpendFact.way, SpendFact.amount_pence))
    )
    db.session.execute(SpendFact.__table__.delete())
    _run_migration_step("0013_market_reports", "_backfill_spend_facts")
    rebuilt = sorted(
        tuple(row) for row in db.session.execute(select(SpendFact.entry_id, SpendFact.month, SpendFact.way, SpendFact.amount_pence))
    )
    assert rebuilt == kept and len(kept) == 2
    assert db.session.execute(select(func.sum(SpendFact.amount_pence))).scalar() == 2 * 2_345 + 2_345
    assert ledger_check.check() == []
