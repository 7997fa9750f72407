"""The service's background work: delivery per channel, escalation of unacknowledged alerts, broadcast fan-out.

Each channel has its own loops, limit and timeout, so a slow or dead provider holds up only
its own channel. Every loop is safe with several replicas (claims with FOR UPDATE SKIP LOCKED
on PostgreSQL; one writer at a time on SQLite).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import aiohttp
from fastapi import FastAPI

from cordon import clockwork
from cordon.policy import replica
from services.notify.domain import delivery as rules
from services.notify.service import alerts, broadcasts, channels, delivery, providers, worklist

log = logging.getLogger("cordon.notify.clockwork")

EXTERNAL = ("sms", "wechat", "webhook")


@contextlib.asynccontextmanager
async def channel_adapters(app: FastAPI) -> AsyncIterator[None]:
    """One HTTP client pool for the providers, and an adapter per channel (the sink files where no provider is set)."""
    settings = app.state.settings
    connector = aiohttp.TCPConnector(limit=sum(settings.concurrency(c) for c in EXTERNAL), ttl_dns_cache=300)
    async with aiohttp.ClientSession(connector=connector) as http:
        async with app.state.sessionmaker() as session:
            policy = await replica.current(session)  # the templates in force at start
        adapters: dict[str, channels.Channel] = {
            "sms": providers.sms_channel(settings, policy, http),
            "wechat": providers.wechat_channel(settings, policy, http),
        }
        if settings.webhook_url:
            adapters["webhook"] = channels.WebhookChannel(settings.webhook_url, settings.webhook_secret, http,
                                                          settings.provider_timeout_s)
        app.state.channels = adapters
        yield


async def _send(app: FastAPI, adapter: channels.Channel, job: delivery.Job, limit: asyncio.Semaphore) -> rules.Outcome:
    if job.interrupted and not adapter.repeatable:
        return rules.INTERRUPTED  # it may have gone out before the crash: not again (at most once)
    vault = app.state.vault
    async with limit:
        try:
            body, code = job.body, None
            if job.secret_enc:  # a login code: in clear only inside this message
                code = vault.decrypt(job.secret_enc)
                body = body.replace("******", code, 1)
            message = channels.Message(
                notification_id=str(job.id), kind=job.kind, recipient=job.recipient,
                to=vault.decrypt(job.to_enc) if job.to_enc else None, title=job.title, body=body, region_code=job.region_code,
                code=code,
            )
            # The adapters time out themselves; this bounds anything else (a stuck sink, DNS).
            return await asyncio.wait_for(adapter.send(message), app.state.settings.provider_timeout_s * 2)
        except TimeoutError:
            return rules.unknown("timeout")
        except Exception as exc:  # an adapter bug must not lose the notification: retried, then failed
            log.warning("notify: a send raised", extra={"channel": job.channel, "notification_id": str(job.id), "error": type(exc).__name__})
            return rules.retry(f"{type(exc).__name__}")


async def deliver_once(app: FastAPI, channel: str, limit: asyncio.Semaphore | None = None) -> int:
    """Claim one batch of ``channel``, send it, record the outcomes; how many were claimed."""
    settings = app.state.settings
    adapter = app.state.channels.get(channel)
    if adapter is None:
        return 0
    limit = limit or asyncio.Semaphore(settings.concurrency(channel))
    async with app.state.sessionmaker() as session:
        jobs = await delivery.claim(session=session, channel=channel, now=app.state.clock(), limit=settings.delivery_batch,
                                    lease_s=settings.lease_s)
    if not jobs:
        return 0
    outcomes = await asyncio.gather(*(_send(app, adapter, job, limit) for job in jobs))
    async with app.state.sessionmaker() as session:
        await delivery.record(session=session, results=list(zip(jobs, outcomes)), now=app.state.clock(), retry=settings.retry,
                              repeatable=adapter.repeatable)
    return len(jobs)


async def _deliver_loop(app: FastAPI, channel: str, limit: asyncio.Semaphore) -> None:
    settings = app.state.settings

    async def round_() -> bool:
        return await deliver_once(app, channel, limit) >= settings.delivery_batch  # a full batch: more is waiting

    await clockwork.every(f"notify {channel} delivery", round_, pause=settings.delivery_poll_s)


async def deliver(app: FastAPI) -> None:
    """Delivery loops: ``delivery_loops`` per external channel, sharing the channel's concurrency limit."""
    settings = app.state.settings
    loops = []
    for channel in EXTERNAL:
        limit = asyncio.Semaphore(settings.concurrency(channel))
        loops += [_deliver_loop(app, channel, limit) for _ in range(settings.delivery_loops)]
    await asyncio.gather(*loops)


async def escalate(app: FastAPI) -> None:
    settings = app.state.settings

    async def round_() -> None:
        async with app.state.sessionmaker() as session:
            await alerts.escalate_due(session=session, now=app.state.clock(), webhook=bool(settings.webhook_url))

    await clockwork.every("notify escalation", round_, pause=settings.escalation_poll_s)


async def fan_out(app: FastAPI) -> None:
    settings = app.state.settings

    async def round_() -> bool:
        async with app.state.sessionmaker() as session:
            return await broadcasts.fan_out_step(session=session, now=app.state.clock(), batch=settings.broadcast_batch)

    await clockwork.every("notify broadcast fan-out", round_, pause=settings.broadcast_poll_s)


async def tidy_worklist(app: FastAPI) -> None:
    """Deletes the worklist's closed items once no late event can need them, and follow-ups of days long gone."""
    async def round_() -> None:
        async with app.state.sessionmaker() as session:
            await worklist.tidy(session=session, now=app.state.clock())

    await clockwork.every("notify worklist tidying", round_, pause=app.state.settings.worklist_tidy_s)
