"""Incoming events -> use cases: one durable consumer per source stream."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from cordon import clock
from cordon.bus import ConsumerSpec
from cordon.bus.envelope import Envelope
from cordon.contracts import auth, events, registry, testing
from cordon.policy import replica
from services.notify.service import places, projections, triggers, worklist


def _now(use_case: Callable[..., Awaitable[None]], **options):
    async def handler(session: AsyncSession, event, envelope: Envelope) -> None:
        await use_case(session=session, event=event, envelope=envelope, now=clock.now(), **options)

    handler.__name__ = use_case.__name__
    return handler


async def on_person(session: AsyncSession, event: registry.PersonFacts, envelope: Envelope) -> None:
    if await projections.upsert_person(session=session, event=event, at=envelope.time):
        await worklist.follow_person(session=session, person_id=event.person_id, region_code=event.region_code)


async def on_places(session: AsyncSession, event: registry.RegionChanged, envelope: Envelope) -> None:
    await places.keep_places(session=session, event=event, at=envelope.time)


def _work(use_case: Callable[..., Awaitable[None]]):
    """A worklist use case as a handler: the event's time is the item's."""
    async def handler(session: AsyncSession, event, envelope: Envelope) -> None:
        await use_case(session=session, event=event, at=envelope.time)

    handler.__name__ = use_case.__name__
    return handler


def _both(*handlers):
    """Several handlers of one event, in one transaction (a notice and the worklist)."""
    async def handler(session: AsyncSession, event, envelope: Envelope) -> None:
        for each in handlers:
            await each(session, event, envelope)

    handler.__name__ = "_and_".join(h.__name__ for h in handlers)
    return handler


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
                registry.RegionChanged.subject: on_places,
                registry.FollowUpDue.subject: _work(worklist.follow_up_due),
                registry.FollowUpDone.subject: _work(worklist.follow_up_done),
                registry.FollowUpMissed.subject: _both(_now(triggers.follow_up_not_done), _work(worklist.follow_up_missed)),
                registry.FollowUpEscalated.subject: _both(_now(triggers.follow_up_not_done), _work(worklist.follow_up_missed)),
                registry.ReportReminded.subject: _now(triggers.report_reminded),
                registry.ReportMissing.subject: _now(triggers.report_missing),
                registry.LeadOpened.subject: _work(worklist.lead_opened),
                registry.LeadOverdue.subject: _both(_now(triggers.lead_overdue), _work(worklist.lead_overdue)),
                registry.LeadClosed.subject: _work(worklist.lead_closed),
                registry.CaseConfirmed.subject: _now(triggers.case_changed),
                registry.CaseDischarged.subject: _now(triggers.case_changed),
                registry.CaseWithdrawn.subject: _now(triggers.case_changed),
                registry.MeasureReleaseBlocked.subject: _now(triggers.release_blocked),
                **replica.HANDLERS,
            },
        ),
        ConsumerSpec(
            name="notify-testing",
            stream="TESTING",
            handlers={
                testing.ResultRecorded.subject: _now(triggers.result_recorded, webhook=webhook),
                testing.ScheduleDue.subject: _both(_now(triggers.schedule_due), _work(worklist.test_due)),
                testing.ScheduleOverdue.subject: _both(_now(triggers.schedule_overdue), _work(worklist.test_overdue)),
                testing.ScheduleFulfilled.subject: _work(worklist.test_closed),
                testing.ScheduleCancelled.subject: _work(worklist.test_closed),
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
