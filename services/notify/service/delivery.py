"""Delivery: claim due notifications of one channel, and record what the provider answered.

At most once: a claim commits the attempt (``sending_since``) before the provider is called, and the
outcome clears it. A claimed notification whose worker died keeps its mark; when its lease runs out it
is claimed again as *interrupted*, and sent again only through a channel that drops repeats by their
idempotency key (else failed, outcome unknown). A crash may delay a message, never double it."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cordon.bus import outbox
from cordon.contracts.notify import NotificationFailed, NotificationSent
from cordon.db import skip_locked
from services.notify.domain import delivery
from services.notify.domain.delivery import Outcome
from services.notify.models import Notification
from services.notify.service import notifications


@dataclass(frozen=True)
class Job:
    id: uuid.UUID
    channel: str
    kind: str
    recipient: str
    region_code: str | None
    title: str
    body: str
    to_enc: str | None
    secret_enc: str | None
    attempts: int  # including the one now being made
    interrupted: bool = False  # the previous attempt was claimed and never recorded (its worker died)


@dataclass(frozen=True)
class Retry:
    base_s: float
    cap_s: float
    max_attempts: int


async def claim(*, session: AsyncSession, channel: str, now: datetime, limit: int, lease_s: float) -> list[Job]:
    """Take up to ``limit`` due notifications of ``channel``: counted as an attempt, and hidden from other
    workers for ``lease_s`` (after which a crashed worker's claim is due again). Commits."""
    query = (
        select(Notification.id)
        .where(Notification.status == "queued", Notification.channel == channel, Notification.next_attempt_at <= now)
        .order_by(Notification.next_attempt_at)
        .limit(limit)
    )
    query = skip_locked(session, query)
    ids = list((await session.execute(query)).scalars())
    if not ids:
        await session.commit()
        return []
    rows = (await session.execute(
        select(Notification.id, Notification.channel, Notification.kind, Notification.recipient, Notification.region_code,
               Notification.title, Notification.body, Notification.to_enc, Notification.secret_enc,
               Notification.attempts + 1, Notification.sending_since.is_not(None))
        .where(Notification.id.in_(ids))
    )).all()
    await session.execute(
        update(Notification)
        .where(Notification.id.in_(ids))
        .values(attempts=Notification.attempts + 1, next_attempt_at=now + timedelta(seconds=lease_s), sending_since=now)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return [Job(*row) for row in rows]


async def record(
    *, session: AsyncSession, results: list[tuple[Job, Outcome]], now: datetime, retry: Retry, rand=random.random,
    repeatable: bool = True,
) -> None:
    """Write each attempt's outcome; publish notify.notification.sent / .failed. Commits."""
    sent = []
    for job, outcome in results:
        step = delivery.after_attempt(outcome, attempts=job.attempts, max_attempts=retry.max_attempts, now=now,
                                      base_s=retry.base_s, cap_s=retry.cap_s, rand=rand(), repeatable=repeatable,
                                      channel=job.channel)
        facts = dict(notification_id=job.id, kind=job.kind, channel=job.channel, recipient=job.recipient, attempts=job.attempts)
        if step.status == "sent":
            sent.append(job.id)
            await outbox.add(session, NotificationSent(**facts), key=job.id)
        elif step.status == "failed":
            await session.execute(_still_queued(job).values(status="failed", last_error=step.reason, next_attempt_at=None,
                                                             sending_since=None))
            await outbox.add(session, NotificationFailed(**facts, reason=step.reason or ""), key=job.id)
            if step.fallback:  # in this transaction: the failure and the message that replaces it, once
                await notifications.fall_back(session=session, notification_id=job.id, channel=step.fallback, now=now)
        else:
            await session.execute(_still_queued(job).values(next_attempt_at=step.next_attempt_at, last_error=step.reason,
                                                             sending_since=None))
    if sent:
        await session.execute(
            update(Notification)
            .where(Notification.id.in_(sent), Notification.status == "queued")
            .values(status="sent", sent_at=now, next_attempt_at=None, last_error=None, sending_since=None)
            .execution_options(synchronize_session=False)
        )
    await session.commit()


def _still_queued(job: Job):
    return update(Notification).where(Notification.id == job.id, Notification.status == "queued").execution_options(
        synchronize_session=False
    )
