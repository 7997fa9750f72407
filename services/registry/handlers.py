"""Incoming events -> use cases."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from cordon.bus import ConsumerSpec
from cordon.bus.envelope import Envelope
from cordon.clock import utcnow
from cordon.contracts import auth, events, registry, testing
from services.registry.service import leads, reactions, stats


async def on_result_recorded(session: AsyncSession, event: testing.ResultRecorded, envelope: Envelope) -> None:
    await reactions.record_result(session=session, result=event, now=utcnow())


async def on_schedule_overdue(session: AsyncSession, event: testing.ScheduleOverdue, envelope: Envelope) -> None:
    await reactions.record_overdue(session=session, schedule=event, now=utcnow())


async def on_sample_collected(session: AsyncSession, event: testing.SampleCollected, envelope: Envelope) -> None:
    await reactions.record_sample(session=session, sample=event, now=utcnow())


async def on_exposure_detected(session: AsyncSession, event: events.ExposureDetected, envelope: Envelope) -> None:
    await reactions.record_exposure(session=session, exposure=event, now=utcnow())


async def on_user(session: AsyncSession, event: auth.UserFacts, envelope: Envelope) -> None:
    await leads.upsert_staff(session=session, event=event, at=envelope.time)


def on_decision(action: str):
    async def handle(session: AsyncSession, event: events.GatheringFacts, envelope: Envelope) -> None:
        await reactions.record_decision(session=session, decision=event, action=action)

    handle.__name__ = f"on_gathering_{action}"
    return handle


# The command office's read model (service/stats.py): the registry's own events and testing's, each
# applied with the envelope's time (a late redelivery of an older state changes nothing).


async def on_stats_person(session: AsyncSession, event: registry.PersonFacts, envelope: Envelope) -> None:
    await stats.on_person(session, event, envelope.time)


async def on_stats_health_code(session: AsyncSession, event: registry.HealthCodeChanged, envelope: Envelope) -> None:
    await stats.on_health_code(session, event, envelope.time)


def on_stats_measure(status: str | None):
    async def handle(session: AsyncSession, event: registry.MeasureFacts, envelope: Envelope) -> None:
        await stats.on_measure(session, event, envelope.time, status=status or event.status)

    handle.__name__ = f"on_stats_measure_{status or 'assigned'}"
    return handle


def on_stats_lead(**state):
    async def handle(session: AsyncSession, event: registry.LeadFacts, envelope: Envelope) -> None:
        await stats.on_lead(session, event, envelope.time, **state)

    handle.__name__ = "on_stats_lead_" + "_".join(f"{k}_{v}" for k, v in state.items())
    return handle


async def on_stats_follow_up_missed(session: AsyncSession, event: registry.FollowUpMissed, envelope: Envelope) -> None:
    await stats.on_follow_up_missed(session, event)


async def on_stats_overdue(session: AsyncSession, event: registry.TestOverdueChanged, envelope: Envelope) -> None:
    await stats.on_overdue(session, event, envelope.time)


async def on_stats_result(session: AsyncSession, event: testing.ResultRecorded, envelope: Envelope) -> None:
    await stats.on_result(session, event)


CONSUMERS: list[ConsumerSpec] = [
    ConsumerSpec(
        name="registry-stats",
        stream="REGISTRY",
        handlers={
            registry.PersonRegistered.subject: on_stats_person,
            registry.PersonUpdated.subject: on_stats_person,
            registry.HealthCodeChanged.subject: on_stats_health_code,
            registry.MeasureAssigned.subject: on_stats_measure(None),
            registry.MeasureStarted.subject: on_stats_measure("active"),
            registry.MeasureReleased.subject: on_stats_measure("released"),
            registry.MeasureCompleted.subject: on_stats_measure("completed"),
            registry.LeadOpened.subject: on_stats_lead(open=True),
            registry.LeadClosed.subject: on_stats_lead(open=False),
            registry.LeadOverdue.subject: on_stats_lead(overdue=True),
            registry.FollowUpMissed.subject: on_stats_follow_up_missed,
            registry.TestOverdueChanged.subject: on_stats_overdue,
        },
    ),
    ConsumerSpec(
        name="registry-stats-testing",
        stream="TESTING",
        handlers={
            testing.ResultRecorded.subject: on_stats_result,
        },
    ),
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
    ConsumerSpec(
        name="registry-auth",
        stream="AUTH",
        handlers={auth.UserCreated.subject: on_user, auth.UserUpdated.subject: on_user},
    ),
]
