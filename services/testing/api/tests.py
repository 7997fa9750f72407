"""Histories and negative proofs: /persons/{id}/tests, /persons/{id}/negative-proof, /me/..."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from cordon import apidoc
from cordon.auth import Principal, Resident
from cordon.deps import NowDep, SessionDep
from cordon.errors import PersonNotFound
from cordon.paging import Cursor, Limit
from services.testing import schemas
from services.testing.api.deps import DEFAULT_HOURS, StaffOrResident, WithinHours, visible_person
from services.testing.domain import proof as rules
from services.testing.service import history, persons, proofs

router = APIRouter(tags=["tests"])


@router.get(
    "/persons/{person_id}/tests",
    response_model=schemas.SamplePage,
    **apidoc.operation("查询人员核酸检测记录", "A person's test history, newest first", "person_not_found"),
)
async def person_tests(person_id: uuid.UUID, session: SessionDep, principal: StaffOrResident, limit: Limit = 50, cursor: Cursor = None):
    await visible_person(session, principal, person_id)
    page = await history.list_tests(session=session, person_id=person_id, limit=limit, cursor=cursor)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get(
    "/persons/{person_id}/negative-proof",
    response_model=schemas.NegativeProofRead,
    **apidoc.operation("查询人员核酸阴性证明", "Whether a person has a recent negative test", "person_not_found"),
)
async def person_negative_proof(
    person_id: uuid.UUID, session: SessionDep, principal: StaffOrResident, now: NowDep, within_hours: WithinHours = DEFAULT_HOURS
):
    """Any staff member may ask (a checkpoint checks travellers from anywhere); a resident only of themself."""
    found = await proofs.summary_of_person(session=session, person_id=person_id)
    if found is None or (principal.role == "resident" and not _own(principal, found)):
        raise PersonNotFound("No such person.")
    return _answer(found[3], now, within_hours)


@router.get(
    "/me/tests",
    response_model=schemas.SamplePage,
    **apidoc.operation("查询本人核酸检测记录", "My own test history, newest first"),
)
async def my_tests(session: SessionDep, principal: Resident, limit: Limit = 50, cursor: Cursor = None):
    person = await persons.find_own(session=session, principal=principal)
    if person is None:  # not registered yet: no sample can be linked to them
        return {"items": [], "next_cursor": None}
    page = await history.list_tests(session=session, person_id=person.person_id, limit=limit, cursor=cursor)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get(
    "/me/negative-proof",
    response_model=schemas.NegativeProofRead,
    **apidoc.operation("查询本人核酸阴性证明", "Whether I have a recent negative test"),
)
async def my_negative_proof(session: SessionDep, principal: Resident, now: NowDep, within_hours: WithinHours = DEFAULT_HOURS):
    if principal.person_id is not None:
        found = await proofs.summary_of_person(session=session, person_id=principal.person_id)
    else:
        found = await proofs.summary_by_phone(session=session, phone_index=principal.phone_index) if principal.phone_index else None
    return _answer(found[3] if found else None, now, within_hours)


def _own(principal: Principal, found) -> bool:
    person_id, _, phone_index, _ = found
    return principal.person_id == person_id or (principal.phone_index is not None and principal.phone_index == phone_index)


def _answer(summary, now, within_hours: int) -> schemas.NegativeProofRead:
    answer = rules.negative_proof(summary, now=now, within_hours=within_hours)
    return schemas.NegativeProofRead(valid=answer.valid, collected_at=answer.collected_at, barcode=answer.barcode, within_hours=within_hours)
