"""Broadcasts: an official's message to everyone registered in a region, fanned out in set-based batches."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from cordon import regions
from cordon.auth import Principal
from cordon.db import dialect_insert, skip_locked
from cordon.errors import NotFound, RegionForbidden
from cordon.policy import replica
from services.notify.domain import pacing
from services.notify.domain.recipients import PHONE_CHANNELS
from services.notify.domain.rendering import render
from services.notify.models import Broadcast, Notification, PersonRef


async def start_broadcast(
    *, session: AsyncSession, principal: Principal, region_code: str, title: str, body: str, channels: list[str], now: datetime
) -> Broadcast:
    if not principal.sees_region(region_code):
        raise RegionForbidden("The region is outside your regions.")
    row = Broadcast(
        id=uuid.uuid4(), region_code=region_code, title=title, body=body, channels=channels,
        created_by=principal.username or principal.subject, status="fanning_out", recipients=0, created_at=now,
    )
    session.add(row)
    await session.commit()
    return row


async def fan_out_step(*, session: AsyncSession, now: datetime, batch: int) -> bool:
    """Create the notifications of the next ``batch`` people of one broadcast; False when none is waiting. Commits."""
    query = skip_locked(session, select(Broadcast).where(Broadcast.status == "fanning_out").order_by(Broadcast.created_at).limit(1))
    broadcast = (await session.execute(query)).scalar()
    if broadcast is None:
        await session.commit()
        return False
    people = select(PersonRef.person_id, PersonRef.region_code, PersonRef.language, PersonRef.phone_index, PersonRef.phone_enc)
    people = people.where(regions.within(PersonRef.region_code, broadcast.region_code))
    if broadcast.last_person_id is not None:
        people = people.where(tuple_(PersonRef.region_code, PersonRef.person_id) > tuple_(broadcast.last_region_code, broadcast.last_person_id))
    rows = (await session.execute(people.order_by(PersonRef.region_code, PersonRef.person_id).limit(batch))).all()
    texts = {lang: render("broadcast", lang, {"title": broadcast.title, "body": broadcast.body}) for lang in ("zh", "en")}
    policy = await replica.current(session)
    held = pacing.not_before(now, quiet=policy.notifications.quiet_hours, tz=ZoneInfo(policy.timezone))  # not at night
    values = []
    source = f"broadcast:{broadcast.id}"
    for person in rows:
        title, body = texts.get(person.language, texts["zh"])
        for channel in broadcast.channels:
            phone = channel in PHONE_CHANNELS
            if phone and not person.phone_enc:
                continue
            inbox = channel == "inbox"
            values.append(dict(
                id=uuid.uuid4(), source=source, recipient=str(person.person_id), recipient_type="person", channel=channel,
                kind="broadcast", person_id=person.person_id, phone_index=person.phone_index, region_code=person.region_code,
                language=person.language, title=title, body=body, to_enc=person.phone_enc if phone else None, secret_enc=None,
                urgent=False, status="sent" if inbox else "queued", attempts=0, next_attempt_at=None if inbox else held,
                last_error=None, collapsed_count=1, alert_id=None, broadcast_id=broadcast.id, created_at=now,
                sent_at=now if inbox else None, read_at=None, acknowledged_at=None,
            ))
    if values:
        statement = dialect_insert(session, Notification).on_conflict_do_nothing(index_elements=["source", "recipient", "channel"])
        await session.execute(statement, values)
    broadcast.recipients += len(rows)
    if rows:
        broadcast.last_region_code, broadcast.last_person_id = rows[-1].region_code, rows[-1].person_id
    if len(rows) < batch:
        broadcast.status, broadcast.fanned_out_at = "fanned_out", now
    await session.commit()
    return True


@dataclass
class Progress:
    broadcast: Broadcast
    by_status: dict[str, int]


async def progress(*, session: AsyncSession, principal: Principal, broadcast_id: uuid.UUID) -> Progress:
    row = await session.get(Broadcast, broadcast_id)
    if row is None or not principal.sees_region(row.region_code):
        raise NotFound("No such broadcast.")
    counts = await session.execute(
        select(Notification.status, func.count()).where(Notification.broadcast_id == broadcast_id).group_by(Notification.status)
    )
    return Progress(row, {status: n for status, n in counts.all()})
