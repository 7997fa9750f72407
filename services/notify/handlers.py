"""Incoming events -> use cases: one durable consumer per source stream."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from cordon import clock
from cordon.bus import ConsumerSpec
from cordon.bus.envelope import Envelope
from cordon.contracts import auth, events, registry, testing
from cordon.policy import replica
from services.notify.service import projections, triggers


def _now(use_case: Callable[..., Awaitable[None]], **options):
    async def handler(session: AsyncSession, event, envelope: Envelope) -> None:
        await use_case(session=session, event=event, envelope=envelope, now=clock.now(), **options)

    handler.__name__ = use_case.__name__
    return handler


async def on_person(session: AsyncSession, event: registry.PersonFacts, envelope: Envelope) -> None:
    await projections.upsert_person(session=session, event=event, at=envelope.time)


async def on_user(session: AsyncSession, event: auth.UserFacts, envelope: Envelope) -> None:
    await projections.upsert_staff(session=session, event=event, at=envelope.time)


async def on_wechat_bound(session: AsyncSession, event: auth.WechatBound, envelope: Envelope) -> None:
    await projections.upsert_wechat(session=session, event=event, at=envelope.time)


def consumers(*, webhook: bool = False) -> list[ConsumerSpec]:
    """The service's consumers; ``webhook``: urgent alerts also go to the command office's webhook."""
    return [
        ConsumerSpec(
            name="notify-registry",
            stream="REGISTRY",
            handlers={
                registry.PersonRegistered.subject: on_person,
                registry.PersonUpdated.subject: on_person,
                registry.HealthCodeChanged.subject: _now(triggers.healthcode_changed),
                registry.MeasureAssigned.subject: _now(triggers.measure_assigned),
                registry.StaffAssigned.subject: _now(triggers.staff_assigned),
                registry.FollowUpMissed.subject: _now(triggers.follow_up_not_done),
                registry.FollowUpEscalated.subject: _now(triggers.follow_up_not_done),
                registry.ReportReminded.subject: _now(triggers.report_reminded),
                registry.ReportMissing.subject: _now(triggers.report_missing),
                registry.LeadOverdue.subject: _now(triggers.lead_overdue),
                **replica.HANDLERS,
            },
        ),
        ConsumerSpec(
            name="notify-testing",
            stream="TESTING",
            handlers={
                testing.ResultRecorded.subject: _now(triggers.result_recorded, webhook=webhook),
                testing.ScheduleDue.subject: _now(triggers.schedule_due),
                testing.ScheduleOverdue.subject: _now(triggers.schedule_overdue),
                testing.RetestOverdue.subject: _now(triggers.retest_overdue),
            },
        ),
        ConsumerSpec(
            name="notify-gatherings",
            stream="GATHERINGS",
            handlers={
                events.GatheringApproved.subject: _now(triggers.gathering_decided),
                events.GatheringRejected.subject: _now(triggers.gathering_decided),
                events.GatheringCancelled.subject: _now(triggers.gathering_decided),
                events.ExposureDetected.subject: _now(triggers.exposure_detected),
            },
        ),
        ConsumerSpec(
            name="notify-auth",
            stream="AUTH",
            handlers={
                auth.SmsCodeRequested.subject: _now(triggers.sms_code_requested),
                auth.UserCreated.subject: on_user,
                auth.UserUpdated.subject: on_user,
                auth.WechatBound.subject: on_wechat_bound,
            },
        ),
    ]


CONSUMERS: list[ConsumerSpec] = consumers()
