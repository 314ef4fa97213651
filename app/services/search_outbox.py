"""The index follows the data: every change to what search shows is queued in the
``search_outbox`` table in the same transaction as the change.

SQLAlchemy session events do it for every writer (web pages, the CLI, other services),
with no call to remember:

* ``after_flush`` looks at the objects just written (services and their hours, providers and
  their areas and ratings, framework memberships and lots, categories) and inserts one
  outbox row per changed thing, on the flush's own connection, so the row commits or rolls
  back with the change.
* ``do_orm_execute`` does the same for bulk ``update()``/``delete()`` statements, by reading
  which rows the statement's WHERE clause picks before it runs.
* ``after_commit`` asks the search index to take the rows in straight away
  (``search.drain_soon``); if that cannot happen now (another process is draining, the
  index is missing, the worker dies), the rows stay queued and the next drain takes them.
"""

from __future__ import annotations

import logging
from itertools import chain

from sqlalchemy import event, insert, inspect, select
from sqlalchemy.orm import Session

from app.database import utcnow
from app.models import (
    Category,
    FrameworkLot,
    FrameworkMembership,
    OutboxEntity,
    Provider,
    ProviderArea,
    SearchOutboxEntry,
    Service,
    ServiceHours,
)

log = logging.getLogger(__name__)

PENDING_KEY = "search_outbox_pending"

# For each watched model: what to queue, and from which attribute (the foreign keys'
# previous values are queued too, so moving a row between parents updates both).
WATCHED: dict[type, tuple[OutboxEntity, str]] = {
    Service: (OutboxEntity.SERVICE, "id"),
    ServiceHours: (OutboxEntity.SERVICE, "service_id"),
    Provider: (OutboxEntity.PROVIDER, "id"),
    ProviderArea: (OutboxEntity.PROVIDER, "provider_id"),
    FrameworkMembership: (OutboxEntity.PROVIDER, "provider_id"),
    FrameworkLot: (OutboxEntity.CATEGORY, "category_id"),
    Category: (OutboxEntity.CATEGORY, "id"),
}


def _entries_for(obj, *, deleted: bool) -> set[tuple[OutboxEntity, int]]:
    watched = WATCHED.get(type(obj))
    if watched is None:
        return set()
    entity, attr = watched
    state = inspect(obj)
    values = {getattr(obj, attr, None)}
    if not deleted:
        history = state.attrs[attr].history
        values.update(history.deleted or ())
    return {(entity, int(v)) for v in values if v is not None}


def _queue(session: Session, entries: set[tuple[OutboxEntity, int]]) -> None:
    if not entries:
        return
    now = utcnow()
    session.connection().execute(
        insert(SearchOutboxEntry.__table__),
        [{"entity": entity.value, "entity_id": entity_id, "queued_at": now} for entity, entity_id in sorted(entries)],
    )
    session.info[PENDING_KEY] = True


@event.listens_for(Session, "after_flush")
def _queue_flushed_changes(session: Session, flush_context) -> None:
    entries: set[tuple[OutboxEntity, int]] = set()
    for obj in chain(session.new, session.dirty):
        if type(obj) in WATCHED and (obj in session.new or session.is_modified(obj, include_collections=False)):
            entries |= _entries_for(obj, deleted=False)
    for obj in session.deleted:
        entries |= _entries_for(obj, deleted=True)
    _queue(session, entries)


@event.listens_for(Session, "do_orm_execute")
def _queue_bulk_changes(orm_execute_state) -> None:
    if not (orm_execute_state.is_update or orm_execute_state.is_delete):
        return
    mapper = orm_execute_state.bind_mapper
    watched = WATCHED.get(mapper.class_) if mapper is not None else None
    if watched is None:
        return
    entity, attr = watched
    column = mapper.columns[attr]
    statement = orm_execute_state.statement
    query = select(column).distinct()
    if statement.whereclause is not None:
        query = query.where(statement.whereclause)
    session = orm_execute_state.session
    ids = {row[0] for row in session.execute(query) if row[0] is not None}
    _queue(session, {(entity, int(i)) for i in ids})


@event.listens_for(Session, "after_commit")
def _drain_after_commit(session: Session) -> None:
    if not session.info.pop(PENDING_KEY, False):
        return
    from app.services import search

    search.drain_soon()


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)
