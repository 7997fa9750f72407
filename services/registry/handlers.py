"""Incoming events -> use cases."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from cordon.bus import ConsumerSpec
from cordon.bus.envelope import Envelope
from cordon.clock import utcnow
from cordon.contracts import events, testing
from services.registry.service import reactions


async def on_result_recorded(session: AsyncSession, event: testing.ResultRecorded, envelope: Envelope) -> None:
    await reactions.record_result(session=session, result=event, now=utcnow())


async def on_schedule_overdue(session: AsyncSession, event: testing.ScheduleOverdue, envelope: Envelope) -> None:
    await reactions.record_overdue(session=session, schedule=event, now=utcnow())


async def on_sample_collected(session: AsyncSession, event: testing.SampleCollected, envelope: Envelope) -> None:
    await reactions.record_sample(session=session, sample=event, now=utcnow())


async def on_exposure_detected(session: AsyncSession, event: events.ExposureDetected, envelope: Envelope) -> None:
    await reactions.record_exposure(session=session, exposure=event, now=utcnow())


def on_decision(action: str):
    async def handle(session: AsyncSession, event: events.GatheringFacts, envelope: Envelope) -> None:
        await reactions.record_decision(session=session, decision=event, action=action)

    handle.__name__ = f"on_gathering_{action}"
    return handle


CONSUMERS: list[ConsumerSpec] = [
    ConsumerSpec(
        name="registry-testing",
        stream="TESTING",
        handlers={
            testing.ResultRecorded.subject: on_result_recorded,
            testing.ScheduleOverdue.subject: on_schedule_overdue,
            testing.SampleCollected.subject: on_sample_collected,
        },
    ),
    ConsumerSpec(
        name="registry-gatherings",
        stream="GATHERINGS",
        handlers={
            events.ExposureDetected.subject: on_exposure_detected,
            events.GatheringApproved.subject: on_decision("approve"),
            events.GatheringRejected.subject: on_decision("reject"),
            events.GatheringCancelled.subject: on_decision("cancel"),
        },
    ),
]
