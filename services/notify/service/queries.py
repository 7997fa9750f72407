"""Reading notifications: the resident's inbox, the staff's lists; marking read."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cordon import paging, regions
from cordon.auth import Principal
from cordon.errors import NotFound
from services.notify.models import Notification


async def _page(session: AsyncSession, query, *, limit: int, cursor: str | None) -> paging.Page:
    """Newest first."""
    order = (Notification.created_at, Notification.id)
    return await paging.keyset(session, query, order=order, limit=limit, cursor=cursor, descending=True)


def _own(principal: Principal):
    """A resident's notifications: by their person, or by the phone they signed in with (before registration)."""
    mine = [Notification.phone_index == principal.phone_index] if principal.phone_index else []
    if principal.person_id is not None:
        mine.append(Notification.person_id == principal.person_id)
    return or_(*mine) if mine else Notification.id.is_(None)


async def inbox(*, session: AsyncSession, principal: Principal, limit: int, cursor: str | None) -> paging.Page:
    query = select(Notification).where(_own(principal), Notification.channel == "inbox")
    return await _page(session, query, limit=limit, cursor=cursor)


async def mark_read(*, session: AsyncSession, principal: Principal, notification_id: uuid.UUID, now: datetime) -> Notification:
    row = await session.get(Notification, notification_id)
    mine = row is not None and row.channel == "inbox" and (
        (principal.person_id is not None and row.person_id == principal.person_id)
        or (principal.phone_index is not None and row.phone_index == principal.phone_index)
    )
    if not mine:
        raise NotFound("No such notification.")
    if row.status == "sent":
        row.status, row.read_at = "read", now
        await session.commit()
    return row


async def list_notifications(
    *, session: AsyncSession, principal: Principal, recipient: str | None, status: str | None, channel: str | None,
    kind: str | None, limit: int, cursor: str | None,
) -> paging.Page:
    query = select(Notification)
    if principal.role != "admin":
        # An official sees what concerns their regions, and what was sent to them.
        scope = [regions.within_any(Notification.region_code, principal.regions)]
        if principal.username:
            scope.append(Notification.recipient == principal.username)
        query = query.where(or_(*scope) if scope else Notification.id.is_(None))
    for column, value in ((Notification.recipient, recipient), (Notification.status, status),
                          (Notification.channel, channel), (Notification.kind, kind)):
        if value is not None:
            query = query.where(column == value)
    return await _page(session, query, limit=limit, cursor=cursor)


async def get_notification(*, session: AsyncSession, principal: Principal, notification_id: uuid.UUID) -> Notification:
    row = await session.get(Notification, notification_id)
    visible = row is not None and (
        principal.role == "admin" or row.recipient == principal.username
        or (row.region_code is not None and principal.sees_region(row.region_code))
    )
    if not visible:
        raise NotFound("No such notification.")
    return row
