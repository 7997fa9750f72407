"""Measures and follow-ups: /persons/{id}/measures, /measures/{id}/..."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from cordon.clock import NowDep, local_date
from cordon.db import SessionDep
from cordon.paging import Cursor, Limit
from services.registry import schemas
from services.registry.api import views
from services.registry.api.deps import GridWorker, Official, Staff
from services.registry.service import measures, people

router = APIRouter(tags=["measures"])


@router.get("/persons/{person_id}/measures", response_model=schemas.MeasurePage)
async def list_measures(
    person_id: uuid.UUID, principal: Staff, session: SessionDep, now: NowDep, limit: Limit = 50, cursor: Cursor = None
):
    person = await people.visible_person(session, principal, person_id)
    today = local_date(now)
    page = await measures.list_measures(session=session, person_id=person.id, limit=limit, cursor=cursor)
    return schemas.MeasurePage(items=[views.measure(m, today) for m in page.items], next_cursor=page.next_cursor)


@router.post("/persons/{person_id}/measures", status_code=201, response_model=schemas.MeasureList)
async def assign_measure(
    person_id: uuid.UUID, body: schemas.CloseContact | schemas.ExplicitMeasure, principal: Official, session: SessionDep, now: NowDep
):
    person = await people.visible_person(session, principal, person_id)
    touched = await measures.assign_by_hand(session=session, principal=principal, person=person, data=body, now=now)
    today = local_date(now)
    return schemas.MeasureList(items=[views.measure(m, today) for m in touched])


@router.post("/measures/{measure_id}/release", response_model=schemas.MeasureRead)
async def release_measure(measure_id: uuid.UUID, body: schemas.Release, principal: Official, session: SessionDep, now: NowDep):
    measure, person = await measures.visible_measure(session, principal, measure_id)
    released = await measures.release(session=session, principal=principal, measure=measure, person=person, reason=body.reason, now=now)
    return views.measure(released, local_date(now))


@router.post("/measures/{measure_id}/follow-ups", status_code=201, response_model=schemas.FollowUpRead)
async def record_follow_up(
    measure_id: uuid.UUID, body: schemas.FollowUpCreate, principal: GridWorker, session: SessionDep, now: NowDep
):
    measure, person = await measures.visible_measure(session, principal, measure_id)
    record = await measures.follow_up(session=session, principal=principal, measure=measure, person=person, data=body, now=now)
    return schemas.FollowUpRead(
        id=record.id, measure_id=record.measure_id, temperature=record.temperature, symptoms=record.symptoms,
        note=record.note, recorded_at=record.recorded_at,
    )
