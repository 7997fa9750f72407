"""The person projection: which ID number and phone belong together, from registry.person.* events.

Runs inside the consumer's transaction (the handler must not commit).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from cordon.contracts import registry
from cordon.db import dialect_insert
from services.events.models import PersonRef


async def project_person(*, session: AsyncSession, person: registry.PersonFacts, now: datetime) -> None:
    values = {
        "person_id": person.person_id, "id_number_index": person.id_number_index, "phone_index": person.phone_index,
        "region_code": person.region_code, "updated_at": now,
    }
    statement = dialect_insert(session, PersonRef).values(**values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["person_id"],
            set_={k: statement.excluded[k] for k in ("id_number_index", "phone_index", "region_code", "updated_at")},
        )
    )
