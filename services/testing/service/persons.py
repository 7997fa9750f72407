"""The projection of the registry's people (``person_ref``), fed by registry.person.* events.

Called from the registry consumer inside its transaction: nothing here commits.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cordon.auth import Principal
from cordon.contracts.registry import PersonFacts
from cordon import projections
from services.testing.models import PersonRef, Sample
from services.testing.service import schedules


async def project_person(*, session: AsyncSession, event: PersonFacts, at: datetime, now: datetime) -> None:
    """Keep the person's facts as announced at ``at``; samples taken before the registry knew them are linked now."""
    if not await projections.project_person(session, PersonRef, event, at=at):
        return  # an older announcement, after a newer one
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
