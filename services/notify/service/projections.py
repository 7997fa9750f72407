"""The local copies of other services' people and staff, kept from their events."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cordon import projections
from cordon.contracts.auth import UserFacts, WechatBound
from cordon.contracts.registry import PersonFacts
from services.notify.domain import recipients
from services.notify.models import PersonRef, StaffRef, StaffRegion, WechatRef


async def upsert_person(*, session: AsyncSession, event: PersonFacts, at: datetime) -> bool:
    """True if written (False: a newer announcement is already kept)."""
    return await projections.project_person(session, PersonRef, event, at=at)


async def upsert_wechat(*, session: AsyncSession, event: WechatBound, at: datetime) -> None:
    """A resident's openid: their SMS of kinds with a WeChat template become subscription messages."""
    if event.openid_enc:
        await session.execute(delete(WechatRef).where(WechatRef.phone_index == event.phone_index))
        session.add(WechatRef(phone_index=event.phone_index, openid_enc=event.openid_enc, bound_at=at))


async def upsert_staff(*, session: AsyncSession, event: UserFacts, at: datetime) -> None:
    values = dict(username=event.username, role=event.role, regions=list(event.regions), phone_enc=event.phone_enc,
                  active=event.active)
    if not await projections.keep_latest(session, StaffRef, key="user_id", key_value=event.user_id, values=values, at=at):
        return  # an older announcement redelivered after a newer one
    await session.execute(delete(StaffRegion).where(StaffRegion.user_id == event.user_id))
    if event.active:
        session.add_all(StaffRegion(region_code=code, user_id=event.user_id) for code in set(event.regions))
    await session.flush()


def person_view(row: PersonRef) -> recipients.Person:
    return recipients.Person(
        person_id=row.person_id, region_code=row.region_code, language=row.language, phone_index=row.phone_index,
        phone_enc=row.phone_enc, name_masked=row.name_masked,
    )


def staff_view(row: StaffRef) -> recipients.Staff:
    return recipients.Staff(username=row.username, role=row.role, regions=tuple(row.regions or ()), phone_enc=row.phone_enc)


async def find_person(
    *, session: AsyncSession, person_id: uuid.UUID | None = None, id_number_index: str | None = None,
    phone_index: str | None = None,
) -> recipients.Person | None:
    if person_id is not None:
        row = await session.get(PersonRef, person_id)
    elif id_number_index is not None:
        row = (await session.execute(select(PersonRef).where(PersonRef.id_number_index == id_number_index).limit(1))).scalar()
    elif phone_index is not None:
        query = select(PersonRef).where(PersonRef.phone_index == phone_index).order_by(PersonRef.updated_at.desc()).limit(1)
        row = (await session.execute(query)).scalar()
    else:
        row = None
    return person_view(row) if row is not None else None


async def people_by_indexes(*, session: AsyncSession, phone_indexes: set[str], id_number_indexes: set[str]) -> list[PersonRef]:
    """Everyone matching any of the indexes, in one query."""
    conditions = []
    if phone_indexes:
        conditions.append(PersonRef.phone_index.in_(phone_indexes))
    if id_number_indexes:
        conditions.append(PersonRef.id_number_index.in_(id_number_indexes))
    if not conditions:
        return []
    return list((await session.execute(select(PersonRef).where(or_(*conditions)))).scalars())


async def staff_around(*, session: AsyncSession, region_code: str) -> list[recipients.Staff]:
    """Active staff whose regions contain ``region_code`` (any role), and every admin."""
    covering = select(StaffRegion.user_id).where(StaffRegion.region_code.in_(recipients.chain(region_code)))
    query = select(StaffRef).where(StaffRef.active.is_(True), or_(StaffRef.user_id.in_(covering), StaffRef.role == "admin"))
    return [staff_view(row) for row in (await session.execute(query)).scalars()]


async def staff_named(*, session: AsyncSession, usernames: list[str]) -> list[recipients.Staff]:
    """Active staff with these usernames (the unique index on username serves it)."""
    if not usernames:
        return []
    query = select(StaffRef).where(StaffRef.username.in_(set(usernames)), StaffRef.active.is_(True))
    return [staff_view(row) for row in (await session.execute(query)).scalars()]
