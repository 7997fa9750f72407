"""A resident's inbox: /me/notifications."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from cordon import apidoc
from cordon.auth import Resident
from cordon.deps import NowDep, SessionDep
from cordon.paging import Cursor, Limit
from services.notify import schemas
from services.notify.api import views
from services.notify.service import queries

router = APIRouter(tags=["inbox"])


@router.get(
    "/me/notifications",
    response_model=schemas.NotificationPage,
    **apidoc.operation("查看我的通知", "Read my notifications, newest first"),
)
async def my_notifications(principal: Resident, session: SessionDep, limit: Limit = 50, cursor: Cursor = None):
    page = await queries.inbox(session=session, principal=principal, limit=limit, cursor=cursor)
    return schemas.NotificationPage(items=[views.notification(n) for n in page.items], next_cursor=page.next_cursor)


@router.post(
    "/me/notifications/{notification_id}/read",
    response_model=schemas.NotificationRead,
    **apidoc.operation("标记通知为已读", "Mark one of my notifications read", "not_found"),
)
async def mark_read(notification_id: uuid.UUID, principal: Resident, session: SessionDep, now: NowDep):
    row = await queries.mark_read(session=session, principal=principal, notification_id=notification_id, now=now)
    return views.notification(row)
