"""A resident's own view: /me."""

from __future__ import annotations

from fastapi import APIRouter

from cordon import apidoc
from cordon.auth import Resident
from cordon.deps import NowDep, SessionDep
from services.registry import schemas
from services.registry.api import views
from services.registry.service import people, travel

router = APIRouter(tags=["me"])


@router.get(
    "/me",
    response_model=schemas.PersonRead,
    **apidoc.operation("查看本人登记信息", "Read my own registration", "person_not_registered"),
)
async def read_me(principal: Resident, session: SessionDep):
    return views.person(await people.own_person(session=session, principal=principal))


@router.get(
    "/me/health-code",
    response_model=schemas.HealthCodeRead,
    **apidoc.operation("查询本人健康码", "Read my own health code", "person_not_registered"),
)
async def read_my_health_code(principal: Resident, session: SessionDep):
    return views.health_code(await people.own_person(session=session, principal=principal))


@router.post(
    "/me/travel-declarations",
    status_code=201,
    response_model=schemas.TravelDeclarationRead,
    **apidoc.operation("主动申报行程", "Declare my own travel", "region_code_invalid", "dates_reversed"),
)
async def declare_travel(body: schemas.TravelDeclaration, principal: Resident, session: SessionDep, now: NowDep):
    record = await travel.declare(session=session, principal=principal, data=body, now=now)
    return schemas.TravelDeclarationRead(
        id=record.seq, region_code=record.region_code, first_seen=record.first_seen, last_seen=record.last_seen,
        created_at=record.created_at,
    )
