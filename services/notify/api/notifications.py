"""Staff views of notifications: /notifications, acknowledgement of alerts."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from cordon import apidoc
from cordon.auth import Official, Staff
from cordon.deps import NowDep, SessionDep, VaultDep
from cordon.paging import Cursor, Limit
from services.notify import schemas
from services.notify.api import views
from services.notify.service import alerts, queries

router = APIRouter(tags=["notifications"])


@router.get(
    "/notifications",
    response_model=schemas.NotificationPage,
    **apidoc.operation("查询通知记录", "List notifications"),
)
async def list_notifications(
    principal: Official, session: SessionDep, vault: VaultDep, recipient: str | None = None, status: schemas.Status | None = None,
    channel: schemas.Channel | None = None, kind: str | None = None, limit: Limit = 50, cursor: Cursor = None,
):
    page = await queries.list_notifications(
        session=session, principal=principal, recipient=recipient, status=status, channel=channel, kind=kind,
        limit=limit, cursor=cursor,
    )
    about = await queries.annotate(session=session, principal=principal, vault=vault, rows=page.items)
    return schemas.NotificationPage(items=views.notifications(page.items, about), next_cursor=page.next_cursor)


@router.get(
    "/notifications/{notification_id}",
    response_model=schemas.NotificationRead,
    **apidoc.operation("查看通知", "Read a notification", "not_found"),
)
async def get_notification(notification_id: uuid.UUID, principal: Staff, session: SessionDep, vault: VaultDep):
    row = await queries.get_notification(session=session, principal=principal, notification_id=notification_id)
    about = await queries.annotate(session=session, principal=principal, vault=vault, rows=[row])
    return views.notification(row, about.get(row.id))


@router.post(
    "/notifications/{notification_id}/ack",
    response_model=schemas.NotificationRead,
    **apidoc.operation("确认紧急预警", "Acknowledge an urgent alert (stops its escalation)", "not_found", "not_an_alert"),
)
async def acknowledge(notification_id: uuid.UUID, principal: Staff, session: SessionDep, now: NowDep):
    row = await alerts.acknowledge(session=session, principal=principal, notification_id=notification_id, now=now)
    return views.notification(row)
