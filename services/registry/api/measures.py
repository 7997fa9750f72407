"""Measures and follow-ups: /persons/{id}/measures, /measures/{id}/..."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from cordon import apidoc
from cordon.auth import FieldStaff, GridWorker, Official
from cordon.clock import local_date
from cordon.deps import NowDep, SessionDep
from cordon.paging import Cursor, Limit
from services.registry import schemas
from services.registry.api import views
from services.registry.service import measures, people

router = APIRouter(tags=["measures"])


@router.get(
    "/persons/{person_id}/measures",
    response_model=schemas.MeasurePage,
    **apidoc.operation("查询人员的管控措施", "List a person's control measures", "person_not_found"),
)
async def list_measures(
    person_id: uuid.UUID, principal: FieldStaff, session: SessionDep, now: NowDep, limit: Limit = 50, cursor: Cursor = None
):
    person = await people.visible_person(session=session, principal=principal, person_id=person_id)
    today = local_date(now)
    page = await measures.list_measures(session=session, person_id=person.id, limit=limit, cursor=cursor)
    return schemas.MeasurePage(items=[views.measure(m, today) for m in page.items], next_cursor=page.next_cursor)


@router.post(
    "/persons/{person_id}/measures",
    status_code=201,
    response_model=schemas.MeasureList,
    **apidoc.operation(
        "人工指派管控措施", "Assign a control measure by hand", "person_not_found", "rule_unknown", "chain_in_past",
    ),
)
async def assign_measure(
    person_id: uuid.UUID, body: schemas.RuleAssignment | schemas.ExplicitMeasure, principal: Official, session: SessionDep, now: NowDep
):
    person = await people.visible_person(session=session, principal=principal, person_id=person_id)
    touched = await measures.assign_by_hand(session=session, principal=principal, person=person, data=body, now=now)
    today = local_date(now)
    return schemas.MeasureList(items=[views.measure(m, today) for m in touched])


@router.post(
    "/measures/{measure_id}/release",
    response_model=schemas.MeasureRead,
    **apidoc.operation("提前解除管控措施", "Release a control measure early", "measure_not_found", "invalid_transition"),
)
async def release_measure(measure_id: uuid.UUID, body: schemas.Release, principal: Official, session: SessionDep, now: NowDep):
    measure, person = await measures.visible_measure(session=session, principal=principal, measure_id=measure_id)
    released = await measures.release(session=session, principal=principal, measure=measure, person=person, reason=body.reason, now=now)
    return views.measure(released, local_date(now))


@router.post(
    "/measures/{measure_id}/follow-ups",
    status_code=201,
    response_model=schemas.FollowUpRead,
    **apidoc.operation("登记健康随访", "Record a health follow-up", "measure_not_found", "measure_not_active"),
)
async def record_follow_up(
    measure_id: uuid.UUID, body: schemas.FollowUpCreate, principal: GridWorker, session: SessionDep, now: NowDep
):
    measure, person = await measures.visible_measure(session=session, principal=principal, measure_id=measure_id)
    record = await measures.follow_up(session=session, principal=principal, measure=measure, person=person, data=body, now=now)
    return schemas.FollowUpRead(
        id=record.id, measure_id=record.measure_id, temperature=record.temperature, symptoms=record.symptoms,
        note=record.note, recorded_at=record.recorded_at,
    )
