"""A service's connection to the bus: connects (and keeps trying), declares, runs the relay and consumers.

A service starts and takes writes with NATS away: events wait in the outbox and
the relay delivers them once the connection is back.
"""

from __future__ import annotations

import asyncio
import logging

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cordon.bus import outbox, streams
from cordon.bus.consumer import Consumer, ConsumerSpec
from cordon.bus.relay import Relay
from cordon.clock import Clock, utcnow

log = logging.getLogger("cordon.bus")


def servers(url: str) -> list[str]:
    """The NATS servers of CORDON_NATS_URL: one URL, or a cluster's, comma-separated."""
    return [u.strip() for u in url.split(",") if u.strip()]


class Bus:
    def __init__(
        self,
        *,
        service: str,
        url: str,
        sessionmaker: async_sessionmaker[AsyncSession],
        consumers: list[ConsumerSpec] = (),
        stream_subjects: dict[str, list[str]] = streams.STREAMS,
        replicas: int = 1,
        relay_batch: int = 500,
        relay_max_backoff_s: float = 30.0,
        clock: Clock = utcnow,
        credentials: dict | None = None,
    ) -> None:
        self.service = service
        self.credentials = credentials or {}  # nats.connect()'s user/password or user_credentials
        self.url = url
        self.stream_subjects = stream_subjects
        self.replicas = replicas
        self.nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._declared = asyncio.Event()
        self.relay = Relay(
            service=service,
            sessionmaker=sessionmaker,
            jetstream=self.jetstream,
            connected=self._declared,
            batch=relay_batch,
            max_backoff_s=relay_max_backoff_s,
        )
        sessionmaker.kw.setdefault("info", {})[outbox.WAKE] = self.relay.wake
        self.consumers = [Consumer(spec, sessionmaker=sessionmaker, clock=clock) for spec in consumers]
        self._tasks: list[asyncio.Task] = []
        self._stopping = False

    @property
    def ready(self) -> bool:
        return self._declared.is_set() and self.nc is not None and self.nc.is_connected

    def jetstream(self) -> JetStreamContext | None:
        return self._js if self.ready else None

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._connect(), name=f"{self.service}-bus-connect"),
            asyncio.create_task(self.relay.run(), name=f"{self.service}-relay"),
        ]

    async def stop(self) -> None:
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self.nc is not None and not self.nc.is_closed:
            try:
                await asyncio.wait_for(self.nc.drain(), 5)
            except Exception:
                await self.nc.close()

    async def _connect(self) -> None:
        delay = 0.1
        while True:
            try:
                self.nc = await nats.connect(
                    servers(self.url),
                    name=f"cordon-{self.service}",
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=1,
                    connect_timeout=2,
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                    **self.credentials,
                )
                js = self.nc.jetstream(timeout=5)
                await streams.declare(js, self.stream_subjects, self.replicas)
                for consumer in self.consumers:
                    await consumer.declare(js)
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("bus: cannot reach NATS yet; retrying", extra={"error": type(exc).__name__, "retry_in_s": round(delay, 1)})
                if self.nc is not None:
                    await self.nc.close()
                    self.nc = None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        self._js = js
        self._declared.set()
        log.info("bus: connected to NATS", extra={"consumers": len(self.consumers)})
        self.relay.wake()
        self._tasks += [
            asyncio.create_task(c.run(js), name=f"{self.service}-{c.spec.name}") for c in self.consumers
        ]

    async def _on_error(self, exc: Exception) -> None:
        # nats-py's default prints a traceback per reconnect attempt; one line is enough.
        log.debug("nats client error", extra={"error": type(exc).__name__, "detail": str(exc)})

    async def _on_disconnected(self) -> None:
        if not self._stopping:
            log.warning("bus: disconnected from NATS; events wait in the outbox")

    async def _on_reconnected(self) -> None:
        log.info("bus: reconnected to NATS")
        self.relay.wake()
