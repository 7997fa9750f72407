"""The projection of the registry's people (``person_ref``), fed by registry.person.* events.

Called from the registry consumer inside its transaction: nothing here commits.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cordon.auth import Principal
from cordon.contracts.registry import PersonFacts
from cordon.db import dialect_insert
from services.testing.models import PersonRef, Sample
from services.testing.service import schedules


async def project_person(*, session: AsyncSession, event: PersonFacts, now: datetime) -> None:
    """Keep the person's facts; samples taken before the registry knew them are linked now."""
    values = {
        "person_id": event.person_id,
        "id_number_index": event.id_number_index,
        "id_number_masked": event.id_number_masked,
        "phone_index": event.phone_index,
        "region_code": event.region_code,
        "updated_at": now,
    }
    # One ID, one person: a stale row holding this index under another id gives way.
    await session.execute(
        delete(PersonRef).where(PersonRef.id_number_index == event.id_number_index, PersonRef.person_id != event.person_id)
    )
    statement = dialect_insert(session, PersonRef).values(**values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["person_id"], set_={k: statement.excluded[k] for k in values if k != "person_id"}
        )
    )
    linked = await session.execute(
        update(Sample)
        .where(Sample.id_number_index == event.id_number_index, Sample.person_id.is_(None))
        .values(person_id=event.person_id)
        .execution_options(synchronize_session=False)
    )
    if linked.rowcount:
        await schedules.fulfil(session=session, person_ids={event.person_id}, now=now)


async def find(session: AsyncSession, person_id: uuid.UUID) -> PersonRef | None:
    return await session.get(PersonRef, person_id)


async def find_own(session: AsyncSession, principal: Principal) -> PersonRef | None:
    """A resident's own person: by the person_id claim, else by their phone's blind index."""
    if principal.person_id is not None:
        return await session.get(PersonRef, principal.person_id)
    if principal.phone_index:
        found = await session.execute(select(PersonRef).where(PersonRef.phone_index == principal.phone_index).limit(1))
        return found.scalar_one_or_none()
    return None


def is_own(principal: Principal, person: PersonRef) -> bool:
    return principal.person_id == person.person_id or (
        principal.phone_index is not None and principal.phone_index == person.phone_index
    )
