"""Urgent alerts: told to the region's officials, acknowledged within the policy's minutes, or escalated."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cordon.auth import Principal
from cordon.bus import outbox
from cordon.contracts.notify import NotificationEscalated
from cordon.db import insert_or_ignore, is_postgres, skip_locked
from cordon.errors import Conflict, NotFound
from cordon.policy import Policy, replica
from services.notify.domain import recipients, work
from services.notify.domain.rendering import render_title
from services.notify.models import Alert, Notification
from services.notify.service import notifications, projections, worklist


async def raise_alert(
    *, session: AsyncSession, source: str, kind: str, region_code: str, facts: dict, now: datetime, policy: Policy,
    webhook: bool = False, person_id: uuid.UUID | None = None,
) -> uuid.UUID | None:
    """Tell the first tier of ``region_code``; the alert waits for an acknowledgement. Once per source."""
    alert_id = uuid.uuid4()
    values = dict(
        id=alert_id, source=source, kind=kind, region_code=region_code, facts=facts, level=0, addressees=[],
        ack_due_at=now + timedelta(minutes=policy.notifications.alert_ack_minutes), created_at=now,
    )
    if not await insert_or_ignore(session, Alert.__table__, values, conflict=["source"]):
        return None
    # On the worklist of the place until acknowledged, whoever is told.
    await worklist.open_item(session=session, item=work.alert(
        alert_id=alert_id, region_code=region_code, person_id=person_id, due_at=values["ack_due_at"], created_at=now,
        title=render_title(kind, facts)), at=now)
    tiers = recipients.alert_tiers(await projections.staff_around(session=session, region_code=region_code), region_code)
    alert = await session.get(Alert, alert_id)
    if webhook:
        await notifications.create(session=session, plans=recipients.to_office(kind, region_code, facts), source=source, now=now,
                                   policy=policy, alert_id=alert_id)
    if not tiers:
        alert.ack_due_at = None  # nobody to tell (no staff known yet): kept for the record
        return alert_id
    staff = list(tiers[0].staff)
    created = await notifications.create(
        session=session, plans=recipients.to_staff(kind, staff, facts, region_code=region_code, person_id=person_id),
        source=source, now=now, policy=policy, alert_id=alert_id,
    )
    alert.addressees = [s.username for s in staff]
    alert.primary_notification_id = created[0] if created else None
    if created:
        await worklist.link_notification(session=session, item_id=alert_id, notification_id=created[0])
    return alert_id


async def escalate_due(*, session: AsyncSession, now: datetime, webhook: bool = False, limit: int = 100) -> int:
    """Escalate each alert past its acknowledgement time one tier up, once per level; commits."""
    policy = await replica.current(session)
    query = skip_locked(session, select(Alert).where(Alert.ack_due_at <= now).order_by(Alert.ack_due_at).limit(limit))
    due = list((await session.execute(query)).scalars())
    for alert in due:
        tiers = recipients.alert_tiers(await projections.staff_around(session=session, region_code=alert.region_code), alert.region_code)
        level = alert.level + 1
        if level >= len(tiers):
            alert.ack_due_at = None  # nobody above: stays unacknowledged, visible in the lists
            continue
        tier = tiers[level]
        minutes = policy.notifications.alert_ack_minutes
        facts = {**alert.facts, "level": level, "ack_minutes": minutes}
        kind = recipients.ESCALATED.get(alert.kind, "alert_escalated")
        first = await session.get(Notification, alert.primary_notification_id) if alert.primary_notification_id else None
        plans = recipients.to_staff(kind, list(tier.staff), facts, region_code=alert.region_code,
                                    person_id=first.person_id if first else None)
        if webhook:
            plans += recipients.to_office(kind, alert.region_code, facts)
        await notifications.create(session=session, plans=plans, source=f"escalation:{alert.id}:{level}", now=now, policy=policy,
                                   alert_id=alert.id)
        told = [s.username for s in tier.staff]
        alert.level = level
        alert.addressees = sorted(set(alert.addressees) | set(told))
        alert.ack_due_at = now + timedelta(minutes=minutes)
        await outbox.add(session, NotificationEscalated(
            notification_id=alert.primary_notification_id or alert.id, kind=alert.kind, channel="inbox",
            recipient=",".join(told), level=level, region_code=tier.region_code, escalated_to=told,
        ), key=alert.id)
    await session.commit()
    return len(due)


class NotAnAlert(Conflict):
    code = "not_an_alert"


async def acknowledge(*, session: AsyncSession, principal: Principal, notification_id: uuid.UUID, now: datetime) -> Notification:
    """Acknowledge the alert a notification carries: stops its escalation. Repeating it changes nothing."""
    row = await session.get(Notification, notification_id)
    visible = row is not None and (
        row.recipient == principal.username or (row.region_code is not None and principal.sees_region(row.region_code))
    )
    if not visible:
        raise NotFound("No such notification.")
    if row.alert_id is None:
        raise NotAnAlert("Only urgent alerts are acknowledged.")
    alert = await session.get(Alert, row.alert_id, with_for_update=is_postgres(session))
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by, alert.ack_due_at = now, principal.username or principal.subject, None
        await worklist.close_item(session=session, item=work.closed(alert.id, "alert", alert.region_code), at=now)
    if row.acknowledged_at is None:
        row.acknowledged_at = now
        if row.status in ("sent", "read"):  # a message still on its way keeps going
            row.status = "acknowledged"
    await session.commit()
    return row

