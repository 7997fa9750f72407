"""Check-ins: attendees by ID number or phone, once each, numbered in arrival order."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cordon import paging, pii
from cordon.auth import FIELD_STAFF, Principal, ensure_region_visible
from cordon.db import insert_or_ignore
from cordon.errors import Forbidden, PersonNotFound
from cordon.pii import Vault
from services.events.domain import workflow
from services.events.models import CheckIn, Gathering, PersonRef
from services.events.service.gatherings import GatheringNotFound, is_organizer, may_see, visible_gathering


async def _attendee_fields(session: AsyncSession, vault: Vault, id_number: str | None, phone: str | None) -> dict:
    """Blind index and masked form; a phone the registry knows is taken as that person's ID number too."""
    if id_number is not None:
        id_number = pii.checked_id_number(id_number)
        index = vault.index("id_number", id_number)
        return {"person_key": f"id:{index}", "id_number_index": index, "id_number_masked": pii.mask_id_number(id_number)}
    phone = pii.checked_phone(phone)
    index = vault.index("phone", phone)
    fields = {"person_key": f"phone:{index}", "phone_index": index, "phone_masked": pii.mask_phone(phone)}
    known = (await session.execute(select(PersonRef.id_number_index).where(PersonRef.phone_index == index).limit(1))).scalar()
    if known:
        fields.update(person_key=f"id:{known}", id_number_index=known)
    return fields


async def check_in(
    *, session: AsyncSession, vault: Vault, principal: Principal, gathering_id: uuid.UUID,
    id_number: str | None, phone: str | None, now: datetime,
) -> tuple[CheckIn, bool]:
    """The attendee's check-in and whether it is new; a repeat returns the first one unchanged.

    One transaction: the counter update locks the gathering's row, so arrivals are numbered one
    after another and a cancel committed meanwhile is seen; the same row answers who may check in.
    """
    fields = await _attendee_fields(session, vault, id_number, phone)
    gathering = (
        await session.execute(
            update(Gathering).where(Gathering.id == gathering_id).values(checked_in=Gathering.checked_in + 1)
            .returning(Gathering.checked_in, Gathering.expected_attendees, Gathering.status, Gathering.region_code,
                       Gathering.organizer_subject, Gathering.organizer_phone_index)
        )
    ).one_or_none()
    if gathering is None or not may_see(principal, gathering):
        await session.rollback()
        raise GatheringNotFound("No such gathering.")
    if not (is_organizer(principal, gathering) or principal.role in FIELD_STAFF):
        await session.rollback()
        raise Forbidden("Only the organiser or staff check attendees in.")
    if gathering.status not in workflow.OPEN:
        await session.rollback()
        workflow.check_open(gathering.status)
    values = {
        "id": uuid.uuid4(), "gathering_id": gathering_id, "seq": gathering.checked_in,
        "over_capacity": gathering.checked_in > gathering.expected_attendees,
        "checked_in_at": now, "checked_in_by": principal.username or principal.subject,
        "id_number_index": None, "id_number_masked": None, "phone_index": None, "phone_masked": None, **fields,
    }
    if await insert_or_ignore(session, CheckIn.__table__, values, conflict=["gathering_id", "person_key"]):
        await session.commit()
        return CheckIn(**values), True
    await session.rollback()  # a repeat: the number goes back
    existing = (
        await session.execute(select(CheckIn).where(CheckIn.gathering_id == gathering_id, CheckIn.person_key == fields["person_key"]))
    ).scalar_one()
    return existing, False


async def list_attendees(
    *, session: AsyncSession, principal: Principal, gathering_id: uuid.UUID, limit: int, cursor: str | None
) -> paging.Page[CheckIn]:
    await visible_gathering(session=session, principal=principal, gathering_id=gathering_id)
    query = select(CheckIn).where(CheckIn.gathering_id == gathering_id)
    return await paging.keyset(session, query, order=(CheckIn.seq,), limit=limit, cursor=cursor)


async def gatherings_of_person(
    *, session: AsyncSession, principal: Principal, person_id: uuid.UUID, limit: int, cursor: str | None
) -> paging.Page:
    """The gatherings a registered person checked in at (by their ID number or phone), latest check-in first.
    A person this service does not know, or outside the caller's places: 404."""
    ref = await session.get(PersonRef, person_id)
    if ref is None:
        raise PersonNotFound("No such person.")
    ensure_region_visible(principal, ref.region_code, what="person")
    who = CheckIn.id_number_index == ref.id_number_index
    if ref.phone_index:
        who = or_(who, CheckIn.phone_index == ref.phone_index)
    query = (
        select(CheckIn.id, CheckIn.checked_in_at, Gathering.id.label("gathering_id"), Gathering.title, Gathering.kind,
               Gathering.region_code, Gathering.starts_at, Gathering.status, Gathering.exposure)
        .join(Gathering, Gathering.id == CheckIn.gathering_id)
        .where(who)
    )
    return await paging.keyset(session, query, order=(CheckIn.checked_in_at, CheckIn.id), limit=limit, cursor=cursor,
                               descending=True)
