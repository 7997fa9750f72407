"""Incoming events -> use cases: the registry's people (projection), measures (schedules), policy."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from cordon import clock
from cordon.bus import ConsumerSpec
from cordon.bus.envelope import Envelope
from cordon.contracts.registry import MeasureAssigned, MeasureReleased, PersonFacts, PersonRegistered, PersonUpdated
from cordon.policy import replica
from services.testing.service import persons, schedules


async def on_person(session: AsyncSession, event: PersonFacts, envelope: Envelope) -> None:
    await persons.project_person(session=session, event=event, at=envelope.time, now=clock.now())


async def on_measure_assigned(session: AsyncSession, event: MeasureAssigned, envelope: Envelope) -> None:
    await schedules.apply_measure(session=session, event=event, now=clock.now())


async def on_measure_released(session: AsyncSession, event: MeasureReleased, envelope: Envelope) -> None:
    await schedules.release_measure(session=session, event=event, now=clock.now())


CONSUMERS: list[ConsumerSpec] = [
    ConsumerSpec(
        name="testing-registry",
        stream="REGISTRY",
        handlers={
            PersonRegistered.subject: on_person,
            PersonUpdated.subject: on_person,
            MeasureAssigned.subject: on_measure_assigned,
            MeasureReleased.subject: on_measure_released,
            **replica.HANDLERS,
        },
    )
]
