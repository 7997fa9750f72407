"""Broadcasts to a region: POST /notifications/broadcast, progress at /notifications/broadcasts/{id}."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from cordon import apidoc
from cordon.auth import Official
from cordon.deps import NowDep, SessionDep
from services.notify import schemas
from services.notify.api import views
from services.notify.service import broadcasts

router = APIRouter(tags=["broadcasts"])


@router.post(
    "/notifications/broadcast",
    response_model=schemas.BroadcastRead,
    status_code=202,
    **apidoc.operation("发布区域广播通知", "Broadcast a notice to everyone registered in a region", "region_forbidden"),
)
async def broadcast(body: schemas.BroadcastCreate, principal: Official, session: SessionDep, now: NowDep):
    row = await broadcasts.start_broadcast(
        session=session, principal=principal, region_code=body.region_code, title=body.title, body=body.body,
        channels=body.channels, now=now,
    )
    return views.broadcast(broadcasts.Progress(row, {}))


@router.get(
    "/notifications/broadcasts/{broadcast_id}",
    response_model=schemas.BroadcastRead,
    **apidoc.operation("查看广播发送进度", "See a broadcast's progress", "not_found"),
)
async def broadcast_progress(broadcast_id: uuid.UUID, principal: Official, session: SessionDep):
    return views.broadcast(await broadcasts.progress(session=session, principal=principal, broadcast_id=broadcast_id))
