"""Check-ins: /gatherings/{id}/check-ins and the masked attendee list."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from cordon import apidoc
from cordon.auth import FieldStaff
from cordon.deps import NowDep, SessionDep, VaultDep
from cordon.paging import Cursor, Limit
from services.events import schemas
from services.events.api import views
from services.events.api.deps import Participant
from services.events.service import check_ins

router = APIRouter(tags=["check_ins"])


@router.post(
    "/gatherings/{gathering_id}/check-ins",
    status_code=201,
    response_model=schemas.CheckInRead,
    **apidoc.operation(
        "登记参加人员", "Check an attendee in (ID number or phone)", "gathering_not_found", "forbidden", "gathering_closed",
        "id_number_invalid", "phone_invalid",
        responses={200: {"model": schemas.CheckInRead, "description": "Already checked in: the first check-in, with repeat=true"}},
    ),
)
async def check_in(
    gathering_id: uuid.UUID, body: schemas.CheckInCreate, principal: Participant, session: SessionDep, vault: VaultDep,
    now: NowDep, response: Response,
):
    found, new = await check_ins.check_in(
        session=session, vault=vault, principal=principal, gathering_id=gathering_id,
        id_number=body.id_number, phone=body.phone, now=now,
    )
    if not new:
        response.status_code = 200
    return views.check_in(found, repeat=not new)


@router.get(
    "/gatherings/{gathering_id}/attendees",
    response_model=schemas.AttendeePage,
    **apidoc.operation("查看参加人员", "List a gathering's attendees (masked)", "gathering_not_found"),
)
async def list_attendees(
    gathering_id: uuid.UUID,
    principal: Participant,
    session: SessionDep,
    limit: Limit = 50,
    cursor: Cursor = None,
):
    page = await check_ins.list_attendees(session=session, principal=principal, gathering_id=gathering_id, limit=limit, cursor=cursor)
    return schemas.AttendeePage(items=[views.check_in(c) for c in page.items], next_cursor=page.next_cursor)


@router.get(
    "/persons/{person_id}/gatherings",
    response_model=schemas.PersonGatheringPage,
    **apidoc.operation("查看人员参加的聚集性活动", "The gatherings a person checked in at, latest first", "person_not_found"),
)
async def person_gatherings(person_id: uuid.UUID, principal: FieldStaff, session: SessionDep, limit: Limit = 50,
                            cursor: Cursor = None):
    page = await check_ins.gatherings_of_person(session=session, principal=principal, person_id=person_id, limit=limit,
                                                cursor=cursor)
    return schemas.PersonGatheringPage(items=[
        schemas.PersonGatheringRead(gathering_id=r.gathering_id, title=r.title, kind=r.kind, region_code=r.region_code,
                                    starts_at=r.starts_at, status=r.status, exposure=r.exposure, checked_in_at=r.checked_in_at)
        for r in page.items
    ], next_cursor=page.next_cursor)
