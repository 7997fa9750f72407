"""Gatherings: /gatherings, and the approve / reject / cancel moves."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta

from fastapi import APIRouter, Query

from cordon import apidoc, bounds
from cordon.auth import Official
from cordon.clock import CHINA
from cordon.deps import NowDep, SessionDep, VaultDep
from cordon.errors import Unprocessable
from cordon.paging import Cursor, Limit
from services.events import schemas
from services.events.api import views
from services.events.api.deps import Participant
from services.events.service import gatherings

router = APIRouter(tags=["gatherings"])


@router.post(
    "/gatherings",
    status_code=201,
    response_model=schemas.GatheringRead,
    **apidoc.operation(
        "报备聚集性活动", "File a gathering", "region_forbidden", "phone_invalid", "region_code_invalid", "region_unknown@422", "validation_error",
        "gathering_prohibited", "prevention_plan_required", "gathering_ended",
    ),
)
async def file_gathering(body: schemas.GatheringCreate, principal: Participant, session: SessionDep, vault: VaultDep, now: NowDep):
    gathering = await gatherings.file_gathering(session=session, vault=vault, principal=principal, data=body, now=now)
    return views.gathering(gathering)


def _bound(value: str | None, field: str, *, end: bool) -> datetime | None:
    """A datetime with offset as given, or a date: the start of that China day (``from``) or of the next (``to``)."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            day = bounds.check_day(date.fromisoformat(value)) + timedelta(days=1 if end else 0)
            return datetime.combine(day, time(), CHINA)
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is not None:
            return bounds.check_moment(moment)
    except bounds.OutOfBounds as exc:
        raise Unprocessable(f"{field}: {exc}", errors=[{"field": field, "message": str(exc)}]) from None
    except ValueError:
        pass
    raise Unprocessable(f"{field} must be a date or a time with offset.", errors=[{"field": field, "message": "invalid"}])


@router.get(
    "/gatherings",
    response_model=schemas.GatheringPage,
    **apidoc.operation("查询聚集性活动", "List gatherings", "region_forbidden", "validation_error"),
)
async def list_gatherings(
    principal: Participant,
    session: SessionDep,
    status: schemas.Status | None = None,
    region_code: str | None = Query(default=None, max_length=15),
    starts_from: str | None = Query(default=None, alias="from", max_length=40, description="starts_at at or after: a date (China time) or a time with offset"),
    starts_to: str | None = Query(default=None, alias="to", max_length=40, description="starts_at before a time, or on or before a date"),
    limit: Limit = 50,
    cursor: Cursor = None,
):
    page = await gatherings.list_gatherings(
        session=session, principal=principal, status=status, region_code=region_code,
        starts_from=_bound(starts_from, "from", end=False), starts_before=_bound(starts_to, "to", end=True),
        limit=limit, cursor=cursor,
    )
    return schemas.GatheringPage(items=[views.gathering(g) for g in page.items], next_cursor=page.next_cursor)


@router.get(
    "/gatherings/{gathering_id}",
    response_model=schemas.GatheringRead,
    **apidoc.operation("查看聚集性活动", "Read a gathering", "gathering_not_found"),
)
async def read_gathering(gathering_id: uuid.UUID, principal: Participant, session: SessionDep):
    return views.gathering(await gatherings.visible_gathering(session=session, principal=principal, gathering_id=gathering_id))


@router.post(
    "/gatherings/{gathering_id}/approve",
    response_model=schemas.GatheringRead,
    **apidoc.operation("批准活动", "Approve a gathering", "gathering_not_found", "forbidden", "invalid_transition"),
)
async def approve_gathering(
    gathering_id: uuid.UUID, principal: Official, session: SessionDep, now: NowDep, body: schemas.Decision | None = None
):
    gathering = await gatherings.decide_gathering(
        session=session, principal=principal, gathering_id=gathering_id, action="approve", reason=body.reason if body else None, now=now
    )
    return views.gathering(gathering)


@router.post(
    "/gatherings/{gathering_id}/reject",
    response_model=schemas.GatheringRead,
    **apidoc.operation(
        "不予批准活动", "Reject a gathering, with the reason", "gathering_not_found", "forbidden", "invalid_transition",
    ),
)
async def reject_gathering(gathering_id: uuid.UUID, body: schemas.Rejection, principal: Official, session: SessionDep, now: NowDep):
    gathering = await gatherings.decide_gathering(
        session=session, principal=principal, gathering_id=gathering_id, action="reject", reason=body.reason, now=now
    )
    return views.gathering(gathering)


@router.post(
    "/gatherings/{gathering_id}/cancel",
    response_model=schemas.GatheringRead,
    **apidoc.operation("取消活动", "Cancel a gathering", "gathering_not_found", "forbidden", "invalid_transition"),
)
async def cancel_gathering(
    gathering_id: uuid.UUID, principal: Participant, session: SessionDep, now: NowDep, body: schemas.Decision | None = None
):
    gathering = await gatherings.cancel_gathering(
        session=session, principal=principal, gathering_id=gathering_id, reason=body.reason if body else None, now=now
    )
    return views.gathering(gathering)
