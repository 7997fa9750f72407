"""Incoming events -> use cases: which person a resident's phone belongs to, from registry.person.*."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from cordon.bus import ConsumerSpec
from cordon.bus.envelope import Envelope
from cordon.contracts import registry
from gateway.auth import service as auth


async def on_person(session: AsyncSession, event: registry.PersonFacts, envelope: Envelope) -> None:
    await auth.project_person(session=session, person=event)


CONSUMERS: list[ConsumerSpec] = [
    ConsumerSpec(
        name="gateway-persons",
        stream="REGISTRY",
        handlers={registry.PersonRegistered.subject: on_person, registry.PersonUpdated.subject: on_person},
    )
]
