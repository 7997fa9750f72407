"""Who may call what: labs record, staff read within their regions, residents read their own."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from cordon.auth import STAFF, Principal, ensure_region_visible, require
from cordon.errors import PersonNotFound
from services.testing.models import PersonRef
from services.testing.service import persons

StaffOrResident = Annotated[Principal, Depends(require(*STAFF, "resident"))]

# How recent a negative proof must be, in hours: unless asked, and at most (the fast path reads them too).
DEFAULT_HOURS, MAX_HOURS = 48, 24 * 90
WithinHours = Annotated[int, Query(ge=1, le=MAX_HOURS, description="how recent the negative must be")]


async def visible_person(session: AsyncSession, principal: Principal, person_id: uuid.UUID) -> PersonRef:
    """The person, if this caller may see their tests: staff in its regions, a resident only themself."""
    person = await persons.find(session=session, person_id=person_id)
    if person is None:
        raise PersonNotFound("No such person.")
    if principal.role == "resident":
        if not persons.is_own(principal, person):
            raise PersonNotFound("No such person.")
    else:
        ensure_region_visible(principal, person.region_code, what="person")
    return person
