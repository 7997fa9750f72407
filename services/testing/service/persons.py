"""The projection of the registry's people (``person_ref``), fed by registry.person.* events; results
recorded before the person was known here are told again once they are.

Called from the registry consumer inside its transaction: nothing here commits.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cordon import projections
from cordon.auth import Principal
from cordon.bus import outbox
from cordon.contracts.registry import PersonFacts
from cordon.contracts.testing import ResultRecorded
from services.testing.models import PersonRef, Sample
from services.testing.service import schedules


async def project_person(*, session: AsyncSession, event: PersonFacts, at: datetime, now: datetime) -> None:
    """Keep the person's facts as announced at ``at``; samples taken before the registry knew them are linked now."""
    if not await projections.project_person(session, PersonRef, event, at=at):
        return  # an older announcement, after a newer one
    await schedules.apply_tags(session=session, person_id=event.person_id, region_code=event.region_code, tags=event.tags, now=now)
    linked = (await session.execute(
        update(Sample)
        .where(Sample.id_number_index == event.id_number_index, Sample.person_id.is_(None))
        .values(person_id=event.person_id)
        .returning(Sample.id, Sample.barcode, Sample.tube_id, Sample.status, Sample.collected_at, Sample.tested_at,
                   Sample.lab, Sample.retest_due_by)
        .execution_options(synchronize_session=False)
    )).all()
    if linked:
        await schedules.fulfil(session=session, person_ids={event.person_id}, now=now)
        await _tell_again(session, event, [s for s in linked if s.status != "pending"])


async def _tell_again(session: AsyncSession, event: PersonFacts, samples: list) -> None:
    """Results told while the person was unknown here (person_id None: nobody could be told) are told again,
    with the person, oldest first."""
    samples = sorted(samples, key=lambda s: (s.tested_at, s.collected_at))
    await outbox.add_many(session, [
        (ResultRecorded(
            sample_id=s.id, barcode=s.barcode, tube_id=s.tube_id, person_id=event.person_id,
            id_number_index=event.id_number_index, region_code=event.region_code, outcome=s.status,
            collected_at=s.collected_at, tested_at=s.tested_at, lab=s.lab, retest_due_by=s.retest_due_by, relinked=True,
        ), s.id)
        for s in samples
    ])


async def find(*, session: AsyncSession, person_id: uuid.UUID) -> PersonRef | None:
    return await session.get(PersonRef, person_id)


async def find_own(*, session: AsyncSession, principal: Principal) -> PersonRef | None:
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
