"""Durable pull consumers: each event handled once, transient failures retried, poison set aside."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Awaitable, Callable

import nats.errors
import nats.js.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cordon import contracts
from cordon.bus import inbox
from cordon.bus.envelope import Envelope
from cordon.observability import BUS_DEAD_LETTERS, BUS_HANDLED, request_id_var

log = logging.getLogger("cordon.bus.consumer")

Handler = Callable[[AsyncSession, contracts.Event, Envelope], Awaitable[None]]

MAX_DELIVER = 10
# Redelivery delays after an unacknowledged delivery (fewer than MAX_DELIVER, as JetStream requires).
BACKOFF_S = [1, 2, 5, 10, 30, 60, 120, 300]
FETCH_BATCH = 100


class Transient(Exception):
    """Raised by a handler for a failure worth retrying (a dependency away, a projection not yet there)."""


TRANSIENT = (Transient, OperationalError, TimeoutError, ConnectionError, OSError)


def nak_delay(deliveries: int) -> float:
    return BACKOFF_S[min(deliveries - 1, len(BACKOFF_S) - 1)]


@dataclass(frozen=True)
class ConsumerSpec:
    """One durable consumer of a service: which stream, which subjects, which handler for each."""

    name: str
    stream: str
    handlers: dict[str, Handler] = field(default_factory=dict)

    def config(self) -> api.ConsumerConfig:
        return api.ConsumerConfig(
            durable_name=self.name,
            name=self.name,
            ack_policy=api.AckPolicy.EXPLICIT,
            deliver_policy=api.DeliverPolicy.ALL,
            filter_subjects=sorted(self.handlers),
            max_deliver=MAX_DELIVER,
            ack_wait=30,
            backoff=BACKOFF_S,
            max_ack_pending=1000,
        )


class Consumer:
    def __init__(self, spec: ConsumerSpec, *, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.spec = spec
        self.sessionmaker = sessionmaker

    async def declare(self, js: JetStreamContext) -> None:
        """Create or update the durable consumer (idempotent)."""
        await js.add_consumer(self.spec.stream, config=self.spec.config())

    async def run(self, js: JetStreamContext) -> None:
        sub = None
        try:
            while True:
                try:
                    if sub is None:
                        await self.declare(js)
                        sub = await js.pull_subscribe_bind(durable=self.spec.name, stream=self.spec.stream)
                    msgs = await sub.fetch(FETCH_BATCH, timeout=1)
                except TimeoutError:
                    continue  # nothing waiting
                except asyncio.CancelledError:
                    raise
                except nats.js.errors.NotFoundError:
                    sub = await self._drop(sub)  # stream or consumer gone (a wiped server): declare again
                    await asyncio.sleep(1)
                    continue
                except Exception as exc:  # disconnected, reconnecting, server restarting
                    log.warning("consumer %s: fetch failed (%s); retrying", self.spec.name, type(exc).__name__)
                    await asyncio.sleep(1)
                    continue
                for msg in msgs:
                    try:
                        await self.handle(msg)
                    except asyncio.CancelledError:
                        raise
                    except Exception:  # the database itself is away: let JetStream redeliver
                        log.exception("consumer %s: could not settle a message", self.spec.name)
                        await msg.nak(delay=5)
        finally:
            await self._drop(sub)

    @staticmethod
    async def _drop(sub) -> None:
        # Unsubscribe first: after a fetch timed out, drain() would otherwise hang (nats-py).
        if sub is not None:
            try:
                await sub.unsubscribe()
            except Exception:
                pass
        return None

    async def handle(self, msg: Msg) -> None:
        deliveries = msg.metadata.num_delivered if msg.reply else 1
        try:
            envelope = Envelope.from_json(msg.data)
            event = envelope.event()
        except (ValidationError, contracts.UnknownEventType, ValueError) as exc:
            await self._poison(msg, None, f"undecodable: {exc}", deliveries)
            return
        handler = self.spec.handlers.get(envelope.nats_subject)
        if handler is None:
            await msg.ack()
            return
        token = request_id_var.set(envelope.requestid)
        try:
            async with self.sessionmaker() as session, session.begin():
                if await inbox.claim(session, consumer=self.spec.name, event_id=envelope.id):
                    await handler(session, event, envelope)
                    outcome = "handled"
                else:
                    outcome = "duplicate"
        except asyncio.CancelledError:
            raise
        except TRANSIENT + (DBAPIError,) as exc:
            if isinstance(exc, DBAPIError) and not (isinstance(exc, OperationalError) or exc.connection_invalidated):
                await self._poison(msg, envelope, f"{type(exc).__name__}: {exc}", deliveries)
            elif deliveries >= MAX_DELIVER:
                await self._poison(msg, envelope, f"gave up after {deliveries} deliveries: {exc!r}", deliveries)
            else:
                BUS_HANDLED.labels(self.spec.name, "retried").inc()
                log.warning("consumer %s: transient failure on %s (%r); retrying", self.spec.name, envelope.id, exc)
                await msg.nak(delay=nak_delay(deliveries))
            return
        except Exception as exc:
            log.exception("consumer %s: handler failed on %s", self.spec.name, envelope.id)
            await self._poison(msg, envelope, f"{type(exc).__name__}: {exc}", deliveries)
            return
        finally:
            request_id_var.reset(token)
        BUS_HANDLED.labels(self.spec.name, outcome).inc()
        await msg.ack()

    async def _poison(self, msg: Msg, envelope: Envelope | None, error: str, deliveries: int) -> None:
        log.error("consumer %s: dead letter %s: %s", self.spec.name, envelope.id if envelope else "?", error[:300])
        await inbox.set_aside(
            self.sessionmaker,
            consumer=self.spec.name,
            event_id=str(envelope.id) if envelope else None,
            nats_subject=msg.subject,
            payload=msg.data,
            error=error,
            deliveries=deliveries,
        )
        BUS_DEAD_LETTERS.labels(self.spec.name).inc()
        BUS_HANDLED.labels(self.spec.name, "dead_letter").inc()
        await msg.term()
