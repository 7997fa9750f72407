"""The person projection: which ID number and phone belong together, from registry.person.* events.

Runs inside the consumer's transaction (the handler must not commit).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from cordon import projections
from cordon.contracts import registry
from services.events.models import PersonRef


async def project_person(*, session: AsyncSession, person: registry.PersonFacts, at: datetime) -> None:
    """Keep the person as announced at ``at`` (an older announcement after a newer one changes nothing)."""
    await projections.project_person(session, PersonRef, person, at=at)
