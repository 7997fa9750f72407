"""What notify's gauges show an operator: notifications waiting and failed, by channel."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.models import Notification

WATCHED = ("queued", "failed")


async def by_channel(*, session: AsyncSession) -> dict[tuple[str, str], int]:
    """(channel, status) -> count, for the statuses an operator watches."""
    rows = await session.execute(
        select(Notification.channel, Notification.status, func.count())
        .where(Notification.status.in_(WATCHED))
        .group_by(Notification.channel, Notification.status)
    )
    return {(channel, status): count for channel, status, count in rows}
