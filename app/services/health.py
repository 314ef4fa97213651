"""The state of what the app depends on, for /health."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.services import search


def database_status() -> dict:
    try:
        db.session.execute(text("SELECT 1")).scalar_one()
        return {"ok": True, "backend": db.session.get_bind().dialect.name}
    except SQLAlchemyError as exc:
        db.session.rollback()
        return {"ok": False, "error": exc.__class__.__name__}


def health_report(index_dir: str) -> dict:
    database = database_status()
    index = search.index_status(index_dir) if database["ok"] else {"ok": False, "state": "unknown"}
    return {"status": "ok" if database["ok"] and index["ok"] else "degraded", "database": database, "search_index": index}
