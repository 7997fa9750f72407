"""Creating notifications from plans: once per (source, recipient, channel), folded inside the collapse window."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from prometheus_client import Counter
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cordon.db import insert_or_ignore
from cordon.policy import Policy
from services.notify.domain import collapse, pacing
from services.notify.domain.recipients import PHONE_CHANNELS, Plan
from services.notify.domain.rendering import collapsed_body, render
from services.notify.models import Notification, NotificationFold, PersonRef, WechatRef

CAPPED = Counter("cordon_notify_capped_total", "Phone messages not made: the person's daily cap was reached", ["channel"])


async def create(
    *, session: AsyncSession, plans: list[Plan], source: str, now: datetime, policy: Policy,
    alert_id: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    """Create (or fold) a notification per plan; the ids of those newly created."""
    created = []
    window = timedelta(minutes=policy.notifications.collapse_window_minutes)
    quiet, tz = policy.notifications.quiet_hours, ZoneInfo(policy.timezone)
    for plan in plans:
        plan = await _by_wechat(session, plan, policy)
        paced = plan.channel in PHONE_CHANNELS and not pacing.exempt(
            kind=plan.kind, recipient_type=plan.recipient_type, urgent=plan.urgent, quiet=quiet)
        if paced and await _sent_today(session, plan.recipient, now, tz) >= policy.notifications.daily_cap:
            CAPPED.labels(plan.channel).inc()
            continue  # the inbox copy still tells them
        title, body = render(plan.kind, plan.language, plan.facts)
        latest = await _latest(session, plan) if collapse.collapsible(plan.kind, plan.urgent) else None
        decision = collapse.decide(
            kind=plan.kind, urgent=plan.urgent, now=now, window=window,
            latest=collapse.Latest(latest.created_at, latest.status, latest.attempts, latest.channel) if latest else None,
        )
        if isinstance(decision, collapse.Fold):
            if await _fold(session, latest, plan, source=source, title=title, body=body, now=now):
                continue
            decision = collapse.New(now)  # the delivery worker took it meanwhile: a message of its own
        new_id = uuid.uuid4()
        inbox = plan.channel == "inbox"
        values = dict(
            id=new_id, source=source, recipient=plan.recipient, recipient_type=plan.recipient_type,
            channel=plan.channel, kind=plan.kind, person_id=plan.person_id, phone_index=plan.phone_index,
            region_code=plan.region_code, language=plan.language, title=title, body=body, to_enc=plan.to_enc,
            secret_enc=plan.secret_enc, urgent=plan.urgent, status="sent" if inbox else "queued", attempts=0,
            next_attempt_at=None if inbox else (pacing.not_before(decision.not_before, quiet=quiet, tz=tz) if paced
                                                else decision.not_before),
            collapsed_count=1, alert_id=alert_id,
            created_at=now, sent_at=now if inbox else None,
        )
        if await insert_or_ignore(session, Notification.__table__, values, conflict=["source", "recipient", "channel"]):
            created.append(new_id)
    return created


async def fall_back(*, session: AsyncSession, notification_id: uuid.UUID, channel: str, now: datetime) -> uuid.UUID | None:
    """The same message again by ``channel`` to the same person (a WeChat message they could not receive goes by
    SMS to their phone), made at most once; None when there is no phone to send it to."""
    original = await session.get(Notification, notification_id)
    if original is None or not original.phone_index:
        return None
    phone_enc = (await session.execute(
        select(PersonRef.phone_enc).where(PersonRef.phone_index == original.phone_index, PersonRef.phone_enc.is_not(None)).limit(1)
    )).scalar()
    if phone_enc is None:
        return None
    new_id = uuid.uuid4()
    values = {column.name: getattr(original, column.key) for column in Notification.__table__.columns}
    values |= dict(id=new_id, channel=channel, to_enc=phone_enc, status="queued", attempts=0, next_attempt_at=now,
                   last_error=None, sending_since=None, created_at=now, sent_at=None, read_at=None, acknowledged_at=None)
    if await insert_or_ignore(session, Notification.__table__, values, conflict=["source", "recipient", "channel"]):
        return new_id
    return None


async def _by_wechat(session: AsyncSession, plan: Plan, policy: Policy) -> Plan:
    """A resident's SMS goes as a WeChat subscription message when they bound WeChat and the kind has a
    template; without an openid it stays an SMS."""
    if plan.channel != "sms" or plan.recipient_type == "staff" or not plan.phone_index:
        return plan
    if plan.kind not in policy.notifications.wechat_templates:
        return plan
    ref = await session.get(WechatRef, plan.phone_index)
    return replace(plan, channel="wechat", to_enc=ref.openid_enc) if ref else plan


async def _sent_today(session: AsyncSession, recipient: str, now: datetime, tz: ZoneInfo) -> int:
    """SMS and WeChat messages made for ``recipient`` since local midnight (served by recipient, created_at)."""
    query = select(func.count()).select_from(Notification).where(
        Notification.recipient == recipient, Notification.created_at >= pacing.day_start(now, tz),
        Notification.channel.in_(PHONE_CHANNELS),
    )
    return (await session.execute(query)).scalar_one()


async def _latest(session: AsyncSession, plan: Plan) -> Notification | None:
    query = (
        select(Notification)
        .where(Notification.recipient == plan.recipient, Notification.kind == plan.kind, Notification.channel == plan.channel)
        .order_by(Notification.created_at.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar()


async def _fold(session: AsyncSession, latest: Notification, plan: Plan, *, source: str, title: str, body: str, now: datetime) -> bool:
    """Fold into ``latest`` unless the worker claimed it since it was read; True when folded (or folded before)."""
    key = {"source": source, "recipient": plan.recipient, "channel": plan.channel}
    fold = {**key, "notification_id": latest.id, "created_at": now, "person_id": plan.person_id, "region_code": plan.region_code}
    if not await insert_or_ignore(session, NotificationFold.__table__, fold, conflict=list(key)):
        return True  # this event was folded already
    count = latest.collapsed_count + 1
    result = await session.execute(
        update(Notification)
        .where(Notification.id == latest.id, Notification.attempts == latest.attempts, Notification.status == latest.status)
        .values(collapsed_count=count, title=title, body=collapsed_body(body, count, plan.language))
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        await session.execute(delete(NotificationFold).where(*(getattr(NotificationFold, k) == v for k, v in key.items())))
        return False
    await session.refresh(latest)
    return True
