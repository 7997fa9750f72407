"""Everyone's own inbox (/me/notifications) and the grid worker's worklist (/me/worklist)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from cordon import apidoc
from cordon.auth import Principal, require
from cordon.deps import NowDep, SessionDep, VaultDep
from cordon.paging import Cursor, Limit
from services.notify import schemas
from services.notify.api import views
from services.notify.service import queries, worklist

router = APIRouter(tags=["inbox"])

# Every signed-in person (residents and staff); a partner's key is a system, not a person.
Person = Annotated[Principal, Depends(require("admin", "official", "grid_worker", "lab", "resident"))]
Worker = Annotated[Principal, Depends(require("official", "grid_worker"))]


@router.get(
    "/me/notifications",
    response_model=schemas.NotificationPage,
    **apidoc.operation("查看我的通知", "Read my notifications, newest first"),
)
async def my_notifications(
    principal: Person, session: SessionDep, vault: VaultDep, limit: Limit = 50, cursor: Cursor = None,
):
    page = await queries.inbox(session=session, principal=principal, limit=limit, cursor=cursor)
    about = await queries.annotate(session=session, principal=principal, vault=vault, rows=page.items)
    return schemas.NotificationPage(items=views.notifications(page.items, about), next_cursor=page.next_cursor)


@router.post(
    "/me/notifications/{notification_id}/read",
    response_model=schemas.NotificationRead,
    **apidoc.operation("标记通知为已读", "Mark one of my notifications read", "not_found"),
)
async def mark_read(notification_id: uuid.UUID, principal: Person, session: SessionDep, vault: VaultDep, now: NowDep):
    row = await queries.mark_read(session=session, principal=principal, notification_id=notification_id, now=now)
    about = await queries.annotate(session=session, principal=principal, vault=vault, rows=[row])
    return views.notification(row, about.get(row.id))


@router.get(
    "/me/worklist",
    response_model=schemas.WorkItemPage,
    **apidoc.operation("查看今日工作清单", "Today's work in my places: open leads, follow-ups, scheduled tests, alerts"),
)
async def my_worklist(principal: Worker, session: SessionDep, vault: VaultDep, now: NowDep, limit: Limit = 50,
                      cursor: Cursor = None):
    page = await worklist.worklist(session=session, principal=principal, vault=vault, now=now, limit=limit, cursor=cursor)
    return schemas.WorkItemPage(items=[views.work_item(line) for line in page.items], next_cursor=page.next_cursor)
