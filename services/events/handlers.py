"""Incoming events -> use cases."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from cordon import clock, projections
from cordon.bus import ConsumerSpec
from cordon.bus.envelope import Envelope
from cordon.contracts import registry, testing
from cordon.policy import replica
from services.events.models import PlaceRef
from services.events.service import exposure, people


async def on_result_recorded(session: AsyncSession, event: testing.ResultRecorded, envelope: Envelope) -> None:
    await exposure.detect_exposure(session=session, result=event, now=clock.now())


async def on_places(session: AsyncSession, event: registry.RegionChanged, envelope: Envelope) -> None:
    await projections.keep_places(session, PlaceRef, event, at=envelope.time)


async def on_person(session: AsyncSession, event: registry.PersonFacts, envelope: Envelope) -> None:
    await people.project_person(session=session, person=event, at=envelope.time)


CONSUMERS: list[ConsumerSpec] = [
    ConsumerSpec(
        name="events-testing",
        stream="TESTING",
        handlers={testing.ResultRecorded.subject: on_result_recorded},
    ),
    ConsumerSpec(
        name="events-registry",
        stream="REGISTRY",
        handlers={
            registry.PersonRegistered.subject: on_person,
            registry.PersonUpdated.subject: on_person,
            registry.RegionChanged.subject: on_places,
            **replica.HANDLERS,
        },
    ),
]
