"""Durable pull consumers: each event handled once, transient failures retried, poison set aside."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import nats.errors
import nats.js.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cordon import clock as clock_of_app
from cordon import contracts
from cordon.bus import inbox
from cordon.bus.envelope import Envelope
from cordon.clock import Clock, utcnow
from cordon.observability import BUS_DEAD_LETTERS, BUS_HANDLED, request_id_var

log = logging.getLogger("cordon.bus.consumer")

Handler = Callable[[AsyncSession, contracts.Event, Envelope], Awaitable[None]]

MAX_DELIVER = 10
# Redelivery delays after an unacknowledged delivery (fewer than MAX_DELIVER, as JetStream requires).
BACKOFF_S = [1, 2, 5, 10, 30, 60, 120, 300]
FETCH_BATCH = 100
LINGER_S = 0.02  # after a short fetch, wait this long for more: one commit for many events
# A dead letter sent back by `cordon dead-letters replay` names the one consumer it is for; every
# other consumer of the subject acknowledges it unread (it handled, or set aside, the original).
REPLAY_FOR = "Cordon-Replay-For"


class Transient(Exception):
    """Raised by a handler for a failure worth retrying (a dependency away, a projection not yet there)."""


TRANSIENT = (Transient, OperationalError, TimeoutError, ConnectionError, OSError)


def _deliveries(msg: Msg) -> int:
    return msg.metadata.num_delivered if msg.reply else 1


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
    def __init__(
        self, spec: ConsumerSpec, *, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock = utcnow
    ) -> None:
        self.spec = spec
        self.sessionmaker = sessionmaker
        self.clock = clock  # a handler's clock.now()

    async def declare(self, js: JetStreamContext) -> None:
        """Create or update the durable consumer (idempotent)."""
        await js.add_consumer(self.spec.stream, config=self.spec.config())

    async def run(self, js: JetStreamContext) -> None:
        with clock_of_app.using(self.clock):
            await self._run(js)

    async def _run(self, js: JetStreamContext) -> None:
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
                    log.warning("consumer: fetch failed; retrying", extra={"consumer": self.spec.name, "error": type(exc).__name__})
                    await asyncio.sleep(1)
                    continue
                if len(msgs) < FETCH_BATCH:
                    msgs += await self._more(sub, FETCH_BATCH - len(msgs))
                try:
                    await self.handle_batch(msgs)
                except asyncio.CancelledError:
                    raise
                except Exception:  # the database itself is away: JetStream redelivers after ack_wait
                    log.exception("consumer: could not settle a batch", extra={"consumer": self.spec.name})
                    await asyncio.sleep(1)
        finally:
            await self._drop(sub)

    @staticmethod
    async def _more(sub, n: int) -> list[Msg]:
        """What else arrives within LINGER_S: a fetch returns as soon as one message is there, and events
        relayed one after another would otherwise be handled one transaction (one commit) each."""
        try:
            return await sub.fetch(n, timeout=LINGER_S)
        except Exception:  # nothing more (a timeout), or a hiccup the next fetch meets: handle what we have
            return []

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
        await self.handle_batch([msg])

    async def handle_batch(self, msgs: list[Msg]) -> None:
        """Handle a fetched batch in one transaction; if any message fails, again one by one.

        Each message's effects and its inbox row still commit together (or not at all), at
        the cost of one claim and one commit per batch instead of per message.
        """
        work = [item for item in [await self._decode(msg) for msg in msgs] if item is not None]
        if not work:
            return
        try:
            verdicts = await self._apply_all(work)
        except asyncio.CancelledError:
            raise
        except Exception:  # one message failed: go again one by one, each in its own savepoint
            try:
                verdicts = await self._apply_each(work)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the batch's own commit failed (the database went away): all come back
                log.warning("consumer: batch not committed; redelivering", extra={"consumer": self.spec.name, "batch": len(work), "error": type(exc).__name__})
                for msg, _, _, _ in work:
                    await msg.nak(delay=nak_delay(_deliveries(msg)))
                return
        for (msg, envelope, _, _), (verdict, exc) in zip(work, verdicts):
            deliveries = _deliveries(msg)
            if verdict in ("handled", "duplicate"):
                BUS_HANDLED.labels(self.spec.name, verdict).inc()
                await msg.ack()
            elif verdict == "transient" and deliveries < MAX_DELIVER:
                BUS_HANDLED.labels(self.spec.name, "retried").inc()
                log.warning("consumer: transient failure; retrying", extra={"consumer": self.spec.name, "event_id": str(envelope.id), "error": repr(exc)})
                await msg.nak(delay=nak_delay(deliveries))
            elif verdict == "transient":
                await self._poison(msg, envelope, f"gave up after {deliveries} deliveries: {exc!r}", deliveries)
            else:
                await self._poison(msg, envelope, f"{type(exc).__name__}: {exc}", deliveries)

    async def _decode(self, msg: Msg) -> tuple[Msg, Envelope, contracts.Event, Handler] | None:
        """The message's envelope, event and handler; poison and uninteresting messages are settled here."""
        replay_for = (msg.headers or {}).get(REPLAY_FOR)
        if replay_for is not None and replay_for != self.spec.name:
            await msg.ack()
            return None
        try:
            envelope = Envelope.from_json(msg.data)
            event = envelope.event()
        except (ValidationError, contracts.UnknownEventType, ValueError) as exc:
            await self._poison(msg, None, f"undecodable: {exc}", _deliveries(msg))
            return None
        handler = self.spec.handlers.get(envelope.nats_subject)
        if handler is None:
            await msg.ack()
            return None
        return msg, envelope, event, handler

    async def _apply_all(self, work) -> list[tuple[str, None]]:
        """The common case: claim the whole batch in one statement, run the handlers, commit once."""
        async with self.sessionmaker() as session, session.begin():
            fresh = await inbox.claim_many(session, consumer=self.spec.name, event_ids=[e.id for _, e, _, _ in work])
            verdicts = []
            for _, envelope, event, handler in work:
                if envelope.id in fresh:
                    fresh.discard(envelope.id)  # the same id twice in a batch runs once
                    token = request_id_var.set(envelope.requestid)
                    try:
                        await handler(session, event, envelope)
                    finally:
                        request_id_var.reset(token)
                    verdicts.append(("handled", None))
                else:
                    verdicts.append(("duplicate", None))
        return verdicts

    async def _apply_each(self, work) -> list[tuple[str, BaseException | None]]:
        async with self.sessionmaker() as session, session.begin():
            return [await self._apply(session, item) for item in work]

    async def _apply(self, session: AsyncSession, item) -> tuple[str, BaseException | None]:
        _, envelope, event, handler = item
        token = request_id_var.set(envelope.requestid)
        try:
            async with session.begin_nested():
                if not await inbox.claim(session, consumer=self.spec.name, event_id=envelope.id):
                    return "duplicate", None
                await handler(session, event, envelope)
                return "handled", None
        except asyncio.CancelledError:
            raise
        except TRANSIENT as exc:
            return "transient", exc
        except DBAPIError as exc:
            return ("transient" if exc.connection_invalidated else "poison"), exc
        except Exception as exc:
            log.exception("consumer: handler failed", extra={"consumer": self.spec.name, "event_id": str(envelope.id)})
            return "poison", exc
        finally:
            request_id_var.reset(token)

    async def _poison(self, msg: Msg, envelope: Envelope | None, error: str, deliveries: int) -> None:
        log.error("consumer: dead letter set aside", extra={"consumer": self.spec.name, "event_id": str(envelope.id) if envelope else None, "subject": msg.subject, "error": error[:300]})
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
