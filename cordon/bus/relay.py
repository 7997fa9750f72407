"""The relay: publishes committed outbox rows to JetStream, in commit order, until each is acknowledged.

Several replicas may run: on PostgreSQL each claims its rows with FOR UPDATE SKIP
LOCKED. A row published but not marked (a crash in between) is published again
with the same ``Nats-Msg-Id``, and the stream's duplicate window drops it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta

from nats.js import JetStreamContext
from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cordon.bus.tables import outbox
from cordon.clock import utcnow
from cordon.db import is_postgres
from cordon.observability import BUS_PUBLISHED, BUS_RELAY_ERRORS

log = logging.getLogger("cordon.bus.relay")

POLL_S = 1.0  # the slow poll: catches rows other replicas' commits left behind
ACK_TIMEOUT_S = 10.0
KEEP_SENT = timedelta(days=3)


class NotConnected(ConnectionError):
    pass


class Relay:
    def __init__(
        self,
        *,
        service: str,
        sessionmaker: async_sessionmaker[AsyncSession],
        jetstream: Callable[[], JetStreamContext | None],
        connected: asyncio.Event,
        batch: int = 500,
        max_backoff_s: float = 30.0,
    ) -> None:
        self.service = service
        self.sessionmaker = sessionmaker
        self.jetstream = jetstream
        self.connected = connected
        self.batch = batch
        self.max_backoff_s = max_backoff_s
        self._wake = asyncio.Event()
        self._last_prune = utcnow()

    def wake(self) -> None:
        """Called after a commit that wrote outbox rows."""
        self._wake.set()

    async def run(self) -> None:
        backoff = 0.05
        while True:
            await self.connected.wait()  # nothing to do, and nothing worth a warning, before the first connect
            self._wake.clear()
            try:
                published = await self.publish_pending()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # NATS away, timeouts, database hiccups: all retried
                BUS_RELAY_ERRORS.labels(self.service).inc()
                log.warning("relay: publish failed; retrying", extra={"error": type(exc).__name__, "detail": str(exc), "retry_in_s": round(backoff, 2)})
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
                continue
            backoff = 0.05
            if published >= self.batch:
                continue  # more are waiting
            await self._prune_sent()
            try:
                await asyncio.wait_for(self._wake.wait(), POLL_S)
            except TimeoutError:
                pass

    async def publish_pending(self) -> int:
        """Publish one batch of unsent rows; return how many were published."""
        js = self.jetstream()
        if js is None:
            raise NotConnected("not connected to NATS")
        async with self.sessionmaker() as session:
            query = select(outbox.c.seq, outbox.c.event_id, outbox.c.nats_subject, outbox.c.payload)
            query = query.where(outbox.c.sent_at.is_(None)).order_by(outbox.c.seq).limit(self.batch)
            claim = is_postgres(session)
            if claim:
                # A "sent" mark lost in a crash only means a republish, which the stream's
                # duplicate window drops: this transaction need not wait for the disk.
                await session.execute(text("SET LOCAL synchronous_commit TO OFF"))
                query = query.with_for_update(skip_locked=True)
            rows = (await session.execute(query)).all()
            if not claim:
                await session.commit()  # SQLite: one relay per file; don't hold its write lock while NATS answers
            if not rows:
                return 0
            acks = [
                await js.publish_async(row.nats_subject, row.payload.encode(), headers={"Nats-Msg-Id": str(row.event_id)})
                for row in rows
            ]
            results = await asyncio.wait_for(asyncio.gather(*acks, return_exceptions=True), ACK_TIMEOUT_S)
            sent = [row.seq for row, result in zip(rows, results) if not isinstance(result, BaseException)]
            failed = [(row.seq, result) for row, result in zip(rows, results) if isinstance(result, BaseException)]
            if sent:
                await session.execute(update(outbox).where(outbox.c.seq.in_(sent)).values(sent_at=utcnow()))
            for seq, error in failed:
                await session.execute(
                    update(outbox)
                    .where(outbox.c.seq == seq)
                    .values(attempts=outbox.c.attempts + 1, last_error=f"{type(error).__name__}: {error}"[:500])
                )
            await session.commit()
        BUS_PUBLISHED.labels(self.service).inc(len(sent))
        if failed:
            raise RuntimeError(f"{len(failed)} of {len(rows)} events not acknowledged: {failed[0][1]!r}")
        return len(sent)

    async def _prune_sent(self) -> None:
        """Drop rows sent long ago, at most once a minute."""
        now = utcnow()
        if now - self._last_prune < timedelta(minutes=1):
            return
        self._last_prune = now
        async with self.sessionmaker() as session, session.begin():
            await session.execute(delete(outbox).where(outbox.c.sent_at < now - KEEP_SENT))
