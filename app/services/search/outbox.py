"""The index follows the data: every change to what search shows is queued in the
``search_outbox`` table in the same transaction as the change.

SQLAlchemy session events do it for every writer (web pages, the CLI, other services),
with no call to remember:

* ``after_flush`` looks at the objects just written (services, their hours and the groups
  of people they support, providers and their areas and ratings, framework memberships, a
  lot moved to another category, a category's name or slug, a postcode district's post
  town) and inserts one outbox row per changed thing, on the flush's own connection, so
  the row commits or rolls back with the change. A lot's name and weights are not in the
  index (search reads them as it ranks), so changing them queues nothing.
* ``do_orm_execute`` does the same for bulk ``update()``/``delete()`` statements, by reading
  which rows the statement's WHERE clause picks before it runs.
* ``after_commit`` asks the search index to take the rows in straight away
  (``writer.drain_soon``); if that cannot happen now (another process is draining, the
  index is missing, the worker dies), the rows stay queued and the next drain takes them.
  A large batch (a category renamed, a district's town changed: thousands of services)
  is taken in by a background thread, so the request that caused it does not wait.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import event, insert, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.database import utcnow
from app.models import (
    Category,
    FrameworkLot,
    FrameworkMembership,
    OutboxEntity,
    PostcodeDistrict,
    Provider,
    ProviderArea,
    SearchOutboxEntry,
    Service,
    ServiceHours,
    SupportedGroup,
)
from app.services.search import writer

log = logging.getLogger(__name__)

PENDING_KEY = "search_outbox_pending"


@dataclass(frozen=True)
class Watch:
    """What to queue when a watched model changes: ``entity`` for the value of ``attr``
    (and its previous value, so moving a row between parents updates both). With
    ``fields``, only a change to one of them counts; ``on_create``/``on_delete`` say
    whether a new or deleted row counts. ``expand`` turns the values into the ids to queue
    (a district into the providers based in it or serving it)."""

    entity: OutboxEntity
    attr: str
    fields: frozenset[str] | None = None
    on_create: bool = True
    on_delete: bool = True
    expand: Callable[[Connection, set], set[int]] | None = None


def _providers_in_districts(conn: Connection, codes: set) -> set[int]:
    p, a = Provider.__table__, ProviderArea.__table__
    codes = sorted(str(c) for c in codes)
    based = conn.execute(select(p.c.id).where(p.c.base_district.in_(codes))).scalars()
    serving = conn.execute(select(a.c.provider_id).where(a.c.outward_code.in_(codes))).scalars()
    return set(based) | set(serving)


WATCHED: dict[type, Watch] = {
    Service: Watch(OutboxEntity.SERVICE, "id"),
    ServiceHours: Watch(OutboxEntity.SERVICE, "service_id"),
    SupportedGroup: Watch(OutboxEntity.SERVICE, "service_id"),
    Provider: Watch(OutboxEntity.PROVIDER, "id"),
    ProviderArea: Watch(OutboxEntity.PROVIDER, "provider_id"),
    FrameworkMembership: Watch(OutboxEntity.PROVIDER, "provider_id"),
    # A lot's name and weights are read when searching (nothing in the index to rewrite,
    # so a commissioner's change of weights costs no reindexing); only moving a lot to
    # another category changes who its members are. A new lot has no members yet, and the
    # members of a deleted one are simply not ranked any more.
    FrameworkLot: Watch(OutboxEntity.CATEGORY, "category_id", fields=frozenset({"category_id"}), on_create=False, on_delete=False),
    # The index holds a category's slug and name (words); not its description or position.
    Category: Watch(OutboxEntity.CATEGORY, "id", fields=frozenset({"slug", "name"})),
    # A district's post town is among the words of every service based in it or serving it.
    PostcodeDistrict: Watch(OutboxEntity.PROVIDER, "outward_code", fields=frozenset({"post_town"}), expand=_providers_in_districts),
}


def _remember_previous_values() -> None:
    """Make setting a watched attribute load its previous value first (even when the
    object was expired by a commit), so moving a row between parents queues both."""
    for model, watch in WATCHED.items():
        event.listen(getattr(model, watch.attr), "set", _noop_set, active_history=True)


def _noop_set(target, value, oldvalue, initiator):
    return value


_remember_previous_values()


def _changed(obj, watch: Watch) -> bool:
    if watch.fields is None:
        return True
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in watch.fields)


def _values_for(obj, watch: Watch, *, deleted: bool) -> set:
    values = {getattr(obj, watch.attr, None)}
    if not deleted:
        values.update(inspect(obj).attrs[watch.attr].history.deleted or ())
    return {v for v in values if v is not None}


def _queue(session: Session, watch: Watch, values: set) -> None:
    if not values:
        return
    conn = session.connection()
    ids = watch.expand(conn, values) if watch.expand else {int(v) for v in values}
    if not ids:
        return
    now = utcnow()
    conn.execute(
        insert(SearchOutboxEntry.__table__),
        [{"entity": watch.entity.value, "entity_id": entity_id, "queued_at": now} for entity_id in sorted(ids)],
    )
    session.info[PENDING_KEY] = True


@event.listens_for(Session, "after_flush")
def _queue_flushed_changes(session: Session, flush_context) -> None:
    found: dict[Watch, set] = {}
    for obj in session.new:
        watch = WATCHED.get(type(obj))
        if watch is not None and watch.on_create:
            found.setdefault(watch, set()).update(_values_for(obj, watch, deleted=False))
    for obj in session.dirty:
        watch = WATCHED.get(type(obj))
        if watch is not None and session.is_modified(obj, include_collections=False) and _changed(obj, watch):
            found.setdefault(watch, set()).update(_values_for(obj, watch, deleted=False))
    for obj in session.deleted:
        watch = WATCHED.get(type(obj))
        if watch is not None and watch.on_delete:
            found.setdefault(watch, set()).update(_values_for(obj, watch, deleted=True))
    for watch, values in found.items():
        _queue(session, watch, values)


def _columns_set(orm_execute_state) -> set[str] | None:
    """The columns a bulk UPDATE sets, when the statement says (None: unknown)."""
    statement = orm_execute_state.statement
    values = getattr(statement, "_values", None) or dict(getattr(statement, "_ordered_values", None) or ())
    if values:
        return {getattr(k, "key", None) or str(k) for k in values}
    params = orm_execute_state.parameters
    if isinstance(params, dict) and params:
        return set(params)
    if isinstance(params, (list, tuple)) and params and all(isinstance(p, dict) for p in params):
        return set().union(*params)
    return None


@event.listens_for(Session, "do_orm_execute")
def _queue_bulk_changes(orm_execute_state) -> None:
    if not (orm_execute_state.is_update or orm_execute_state.is_delete):
        return
    mapper = orm_execute_state.bind_mapper
    watch = WATCHED.get(mapper.class_) if mapper is not None else None
    if watch is None:
        return
    if orm_execute_state.is_delete and not watch.on_delete:
        return
    if orm_execute_state.is_update and watch.fields is not None:
        columns = _columns_set(orm_execute_state)
        if columns is not None and not (columns & watch.fields):
            return
    column = mapper.columns[watch.attr]
    statement = orm_execute_state.statement
    query = select(column).distinct()
    if statement.whereclause is not None:
        query = query.where(statement.whereclause)
    session = orm_execute_state.session
    _queue(session, watch, {row[0] for row in session.execute(query) if row[0] is not None})


@event.listens_for(Session, "after_commit")
def _drain_after_commit(session: Session) -> None:
    if not session.info.pop(PENDING_KEY, False):
        return
    writer.drain_soon()


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)
