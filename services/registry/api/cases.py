"""Cases: /persons/{id}/case (the CDC review) and /persons/{id}/case/discharge."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from cordon import apidoc
from cordon.auth import Official
from cordon.clock import local_date
from cordon.deps import NowDep, SessionDep
from services.registry import schemas
from services.registry.api import views
from services.registry.service import cases, people

router = APIRouter(tags=["cases"])


@router.post(
    "/persons/{person_id}/case",
    status_code=201,
    response_model=schemas.CaseRead,
    **apidoc.operation("登记病例复核结果（确诊或无症状感染者）", "Record the CDC review: a confirmed case or an asymptomatic infection",
                       "person_not_found", "case_exists"),
)
async def confirm_case(person_id: uuid.UUID, body: schemas.CaseCreate, principal: Official, session: SessionDep, now: NowDep):
    person = await people.visible_person(session=session, principal=principal, person_id=person_id)
    case = await cases.confirm(session=session, principal=principal, person=person, data=body, now=now)
    return views.case(case)


@router.post(
    "/persons/{person_id}/case/discharge",
    response_model=schemas.CaseRead,
    **apidoc.operation("登记病例出院", "Record a case's discharge from hospital: the discharged_case measures start",
                       "person_not_found", "no_case"),
)
async def discharge_case(person_id: uuid.UUID, body: schemas.CaseDischarge, principal: Official, session: SessionDep, now: NowDep):
    person = await people.visible_person(session=session, principal=principal, person_id=person_id)
    case, touched = await cases.discharge(session=session, principal=principal, person=person, data=body, now=now)
    today = local_date(now)
    return views.case(case, [views.measure(m, today) for m in touched])
