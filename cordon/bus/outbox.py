"""The transactional outbox: an event is a row written in the same transaction as the change.

``add`` and ``add_many`` stage the rows in the session; they are written in one multi-row INSERT when the
transaction commits, in the order they were added. A use case that
stages a thousand events pays one statement, not a thousand round trips. Rows staged inside a savepoint
that rolls back are dropped with it, as its other writes are.
"""

from __future__ import annotations

from sqlalchemy import event as sa_event
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from cordon import contracts
from cordon.bus.envelope import Envelope, wrap, wrap_data
from cordon.bus.tables import outbox
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


async def add_many(session: AsyncSession, events: list[tuple[contracts.Event, object]]) -> list[Envelope]:
    """Stage many (event, key) pairs at once: a lab batch publishes thousands."""
    if not events:
        return []
    source, request_id = session.info[SOURCE], request_id_var.get()
    envelopes = [wrap(event, source=source, key=str(key), request_id=request_id) for event, key in events]
    _stage(session, [_row(e) for e in envelopes])
    return envelopes


async def add_many_data(session: AsyncSession, event_type: type[contracts.Event], events: list[tuple[dict, object]]) -> list[Envelope]:
    """Stage many events of ``event_type`` given as (JSON form, key) pairs, as ``add_many`` does, without building
    and validating each event's model: for large payloads made from values the caller has checked itself (an
    import's thousand places an event), where validation would cost more than the rest of the work."""
    if not events:
        return []
    source, request_id = session.info[SOURCE], request_id_var.get()
    envelopes = [wrap_data(event_type, data, source=source, key=str(key), request_id=request_id) for data, key in events]
    _stage(session, [_row(e) for e in envelopes])
    return envelopes


@sa_event.listens_for(Session, "before_commit")
def _write_staged(session: Session) -> None:
    """The staged rows, in one multi-row INSERT in the order added, as the transaction commits. A savepoint's
    release writes nothing: its rows stay staged under it (an enclosing savepoint's rollback still drops
    them) until the transaction itself commits."""
    if session.get_nested_transaction() is not None:
        return
    staged = session.info.pop(STAGED, None)
    if staged:
        session.execute(insert(outbox), [row for _, rows in staged for row in rows])
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
