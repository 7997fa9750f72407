"""The transactional outbox: an event is a row written in the same transaction as the change.

``add`` and ``add_many`` stage the rows in the session; they are written in one multi-row INSERT when the
transaction commits (or when a long use case calls ``write_staged``), in the order they were added. A use case that
stages a thousand events pays one statement, not a thousand round trips. Rows staged inside a savepoint
that rolls back are dropped with it, as its other writes are.
"""

from __future__ import annotations

import uuid

import orjson
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from cordon import bulk, contracts
from cordon.bus.envelope import Envelope, wrap
from cordon.bus.tables import outbox
from cordon.clock import utcnow
from cordon.observability import request_id_var

# Keys of Session.info: the sessionmaker carries the service's source and the
# relay's wake-up; a commit that wrote outbox rows marks the session so it wakes the relay.
SOURCE, WAKE, DIRTY = "cordon.source", "cordon.outbox_wake", "cordon.outbox_dirty"
STAGED = "cordon.outbox_staged"  # [(the transaction or savepoint staged in, rows)], in the order added


def _row(e: Envelope) -> dict:
    return {"event_id": e.id, "nats_subject": e.nats_subject, "payload": e.to_json().decode(), "created_at": e.time}


def _stage(session: AsyncSession, rows: list[dict]) -> None:
    sync = session.sync_session
    # Staged rows belong to a transaction: begin it as a statement would (no connection is taken yet), so a
    # rollback before any statement still drops them.
    transaction = sync.get_nested_transaction() or sync.get_transaction() or sync._autobegin_t()
    sync.info.setdefault(STAGED, []).append((transaction, rows))


async def add(session: AsyncSession, event: contracts.Event, *, key: object) -> Envelope:
    """Stage ``event`` about aggregate ``key`` for publication when the session commits."""
    envelope = wrap(event, source=session.info[SOURCE], key=str(key), request_id=request_id_var.get())
    _stage(session, [_row(envelope)])
    return envelope


async def add_many(session: AsyncSession, events: list[tuple[contracts.Event, object]]) -> None:
    """Stage many (event, key) pairs at once: a lab batch publishes thousands, a risk area turning high
    hundreds of thousands. The rows are the bytes ``add`` would write (``wrap`` and ``Envelope.to_json``),
    made without building an envelope model per event."""
    if not events:
        return
    source, request_id = session.info[SOURCE], request_id_var.get()
    _stage(session, [_fast_row(event.type(), event.model_dump(mode="json"), source=source, key=str(key), request_id=request_id)
                     for event, key in events])


def _fast_row(event_type: str, data: dict, *, source: str, key: str, request_id: str | None) -> dict:
    """The outbox row of ``wrap(event, ...)`` for an event of ``event_type`` whose JSON form is ``data``: the same
    fields in the same order, ``requestid`` left out when None (``to_json`` excludes None at the envelope's
    level only: the payload keeps its nulls), UTC as "Z"."""
    event_id, at = uuid.uuid4(), utcnow()
    doc = {"specversion": "1.0", "id": event_id, "source": source, "type": event_type, "subject": key, "time": at,
           "datacontenttype": "application/json", "data": data}
    if request_id is not None:
        doc["requestid"] = request_id
    return {"event_id": event_id, "nats_subject": event_type.rsplit(".v", 1)[0],
            "payload": orjson.dumps(doc, option=orjson.OPT_UTC_Z).decode(), "created_at": at}


async def write_staged(session: AsyncSession) -> None:
    """Write the rows staged so far now, in one statement, as the commit would (in a savepoint: nothing yet).
    A use case that stages events for 100,000 people writes them a chunk at a time instead of holding them
    all until it commits; the order of the rows is the order they were staged in either way."""
    await session.run_sync(_write_staged)


async def add_many_data(session: AsyncSession, event_type: type[contracts.Event], events: list[tuple[dict, object]]) -> None:
    """Stage many events of ``event_type`` given as (JSON form, key) pairs, as ``add_many`` does, without building
    and validating each event's model: for large payloads made from values the caller has checked itself (an
    import's thousand places an event), where validation would cost more than the rest of the work."""
    if not events:
        return
    source, request_id, type_ = session.info[SOURCE], request_id_var.get(), event_type.type()
    _stage(session, [_fast_row(type_, data, source=source, key=str(key), request_id=request_id) for data, key in events])


@sa_event.listens_for(Session, "before_commit")
def _write_staged(session: Session) -> None:
    """The staged rows, in one multi-row INSERT in the order added, as the transaction commits. A savepoint's
    release writes nothing: its rows stay staged under it (an enclosing savepoint's rollback still drops
    them) until the transaction itself commits."""
    if session.get_nested_transaction() is not None:
        return
    staged = session.info.pop(STAGED, None)
    if staged:
        statement, params = bulk.insert_statement(
            session.bind.dialect.name, outbox, [row for _, rows in staged for row in rows], ordered=True)
        session.execute(statement, params)
        session.info[DIRTY] = True  # the transaction's commit (not a savepoint's release) wakes the relay


@sa_event.listens_for(Session, "after_soft_rollback")
def _drop_staged(session: Session, previous) -> None:
    """A rolled-back savepoint drops the rows staged in it (and in savepoints inside it); the whole
    transaction's rollback drops them all."""
    staged = session.info.get(STAGED)
    if not staged:
        return
    if not previous.nested:
        session.info.pop(STAGED, None)
        return

    def inside(transaction) -> bool:
        while transaction is not None:
            if transaction is previous:
                return True
            transaction = transaction.parent
        return False

    session.info[STAGED] = [(t, rows) for t, rows in staged if not inside(t)]


@sa_event.listens_for(Session, "after_commit")
def _wake_relay(session: Session) -> None:
    # Also fired when a savepoint is released: only the transaction's own commit has written rows.
    if session.get_nested_transaction() is None and session.info.pop(DIRTY, False) and (wake := session.info.get(WAKE)):
        wake()


@sa_event.listens_for(Session, "after_transaction_end")
def _end(session: Session, transaction) -> None:
    """Whatever ended the transaction (commit, rollback, close), nothing staged outlives it."""
    if transaction.parent is None:
        session.info.pop(STAGED, None)


@sa_event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    # Also fired when a savepoint rolls back, which leaves the transaction's own rows to write.
    if session.get_nested_transaction() is None:
        session.info.pop(DIRTY, None)
