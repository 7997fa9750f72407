"""Other services' events -> who is told what. Each runs inside the consumer's transaction (no commit here)."""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from cordon.bus import Transient
from cordon.bus.envelope import Envelope
from cordon.contracts import auth, events, registry, testing
from cordon.policy import replica
from services.notify.domain import facts, recipients
from services.notify.domain.recipients import Person
from services.notify.service import alerts, notifications, places, projections

log = logging.getLogger("cordon.notify.triggers")


async def _person_or_retry(session: AsyncSession, person_id, id_number_index: str | None = None) -> Person | None:
    """The person an event names; a person the registry knows but whose announcement is still on its way: retry."""
    person = await projections.find_person(session=session, person_id=person_id) if person_id else None
    if person is None and id_number_index:
        person = await projections.find_person(session=session, id_number_index=id_number_index)
    if person is None and person_id is not None:
        raise Transient(f"person {person_id} not projected yet")
    return person


def result_key(event: testing.ResultRecorded) -> str:
    return f"result:{event.sample_id}:{event.outcome}:{int(event.tested_at.timestamp())}"


async def result_recorded(
    *, session: AsyncSession, event: testing.ResultRecorded, envelope: Envelope, now: datetime, webhook: bool = False
) -> None:
    policy = await replica.current(session)
    person = await _person_or_retry(session, event.person_id, event.id_number_index)
    # Keyed by the result, not the event: a result told again with its person (relinked) is told to them
    # once, whichever copy first finds them here.
    source = result_key(event)
    if person is not None:
        plans = recipients.to_person(f"result_{event.outcome}", person, facts.result(event, person.language))
        await notifications.create(session=session, plans=plans, source=source, now=now, policy=policy)
    region = event.region_code or (person.region_code if person else None)
    if event.outcome == "pool_positive" and region and not event.correction:  # a relinked copy: the same source, once
        staff = recipients.working_in(await projections.staff_around(session=session, region_code=region), region)
        plans = recipients.to_staff("pool_positive_alert", staff, facts.pool_positive(
            event, region_code=region, person=person.name_masked if person else "",
            place=await places.label(session=session, code=region)),
            region_code=region, person_id=person.person_id if person else None)
        await notifications.create(session=session, plans=plans, source=source, now=now, policy=policy)
    if event.outcome == "positive" and region and not event.correction:
        alert_facts = facts.positive_alert(
            event, region_code=region, place=await places.label(session=session, code=region),
            person=person.name_masked if person else "", ack_minutes=policy.notifications.alert_ack_minutes,
        )
        await alerts.raise_alert(session=session, source=source, kind="positive_alert", region_code=region, facts=alert_facts,
                                 now=now, policy=policy, webhook=webhook, person_id=person.person_id if person else None)


async def retest_overdue(*, session: AsyncSession, event: testing.RetestOverdue, envelope: Envelope, now: datetime) -> None:
    """A pool-positive retest not taken in time: the region's staff and the officials who answer for it."""
    policy = await replica.current(session)
    person = await projections.find_person(session=session, person_id=event.person_id) if event.person_id else None
    if person is None:
        person = await projections.find_person(session=session, id_number_index=event.id_number_index)
    region = event.region_code or (person.region_code if person else None)
    if region is None:
        log.info("notify: retest overdue for a person of no known region", extra={"sample_id": str(event.sample_id)})
        return
    around = await projections.staff_around(session=session, region_code=region)
    staff = recipients.together(recipients.working_in(around, region), recipients.officials_of(around, region))
    plans = recipients.to_staff("retest_overdue", staff, facts.pool_positive(
        event, region_code=region, person=person.name_masked if person else "",
        place=await places.label(session=session, code=region)),
        region_code=region, person_id=person.person_id if person else None)
    await notifications.create(session=session, plans=plans, source=str(envelope.id), now=now, policy=policy)


async def healthcode_changed(*, session: AsyncSession, event: registry.HealthCodeChanged, envelope: Envelope, now: datetime) -> None:
    policy = await replica.current(session)
    person = await _person_or_retry(session, event.person_id)
    kind_channels = recipients.CHANNELS["healthcode_changed_red" if event.color == "red" else "healthcode_changed"]
    plans = recipients.to_person("healthcode_changed", person, facts.healthcode(event, person.language, policy),
                                 channels=kind_channels)
    await notifications.create(session=session, plans=plans, source=str(envelope.id), now=now, policy=policy)


async def measure_assigned(*, session: AsyncSession, event: registry.MeasureAssigned, envelope: Envelope, now: datetime) -> None:
    policy = await replica.current(session)
    person = await _person_or_retry(session, event.person_id)
    plans = recipients.to_person("measure_assigned", person, facts.measure(event, person.language, policy))
    staff = recipients.working_in(await projections.staff_around(session=session, region_code=event.region_code), event.region_code)
    place = await places.label(session=session, code=event.region_code)
    plans += recipients.to_staff("staff_measure_assigned", staff,
                                 facts.measure(event, "zh", policy, person=person.name_masked, place=place),
                                 region_code=event.region_code, person_id=event.person_id)
    await notifications.create(session=session, plans=plans, source=str(envelope.id), now=now, policy=policy)


async def schedule_due(*, session: AsyncSession, event: testing.ScheduleDue, envelope: Envelope, now: datetime) -> None:
    policy = await replica.current(session)
    person = await _person_or_retry(session, event.person_id)
    plans = recipients.to_person("test_due", person, facts.schedule(event, person.language))
    await notifications.create(session=session, plans=plans, source=str(envelope.id), now=now, policy=policy)


async def schedule_overdue(*, session: AsyncSession, event: testing.ScheduleOverdue, envelope: Envelope, now: datetime) -> None:
    policy = await replica.current(session)
    person = await projections.find_person(session=session, person_id=event.person_id)
    staff = recipients.working_in(await projections.staff_around(session=session, region_code=event.region_code), event.region_code)
    place = await places.label(session=session, code=event.region_code)
    plans = recipients.to_staff("test_overdue", staff,
                                facts.schedule(event, "zh", person=person.name_masked if person else "", place=place),
                                region_code=event.region_code, person_id=event.person_id)
    await notifications.create(session=session, plans=plans, source=str(envelope.id), now=now, policy=policy)


async def gathering_decided(*, session: AsyncSession, event: events.GatheringFacts, envelope: Envelope, now: datetime) -> None:
    """The organiser: through their person if registered, else by the phone they gave."""
    if not event.organizer_phone_index:
        return
    policy = await replica.current(session)
    kind = "gathering_" + event.subject.rsplit(".", 1)[1]
    person = await projections.find_person(session=session, phone_index=event.organizer_phone_index)
    if person is not None:
        if not person.phone_enc and event.organizer_phone_enc:
            person = dataclasses.replace(person, phone_enc=event.organizer_phone_enc)
        plans = recipients.to_person(kind, person, facts.gathering(event, person.language))
    else:
        plans = recipients.to_phone(kind, event.organizer_phone_index, event.organizer_phone_enc,
                                    facts.gathering(event, "zh"), region_code=event.region_code)
    await notifications.create(session=session, plans=plans, source=str(envelope.id), now=now, policy=policy)


async def exposure_detected(*, session: AsyncSession, event: events.ExposureDetected, envelope: Envelope, now: datetime) -> None:
    """Each attendee other than the positive person, matched to a registered person in one query."""
    policy = await replica.current(session)
    attendees = [a for a in event.attendees if a.id_number_index != event.positive_id_number_index]
    people = await projections.people_by_indexes(
        session=session,
        phone_indexes={a.phone_index for a in attendees if a.phone_index},
        id_number_indexes={a.id_number_index for a in attendees if a.id_number_index},
    )
    by_phone = {p.phone_index: p for p in people if p.phone_index}
    by_id = {p.id_number_index: p for p in people}
    plans, told = [], set()
    for attendee in attendees:
        row = by_id.get(attendee.id_number_index) or by_phone.get(attendee.phone_index)
        if row is not None:
            if row.person_id in told or row.id_number_index == event.positive_id_number_index:
                continue
            told.add(row.person_id)
            person = projections.person_view(row)
            plans += recipients.to_person("exposure", person, facts.exposure(event, person.language))
        elif attendee.phone_index and attendee.phone_index not in told:
            told.add(attendee.phone_index)  # not registered: their inbox, seen once they sign in with the phone
            plans += recipients.to_phone("exposure", attendee.phone_index, None, facts.exposure(event, "zh"),
                                         region_code=event.region_code, channels=("inbox",))
    await notifications.create(session=session, plans=plans, source=str(envelope.id), now=now, policy=policy)


async def sms_code_requested(*, session: AsyncSession, event: auth.SmsCodeRequested, envelope: Envelope, now: datetime) -> None:
    """The login code, by SMS only; the code stays encrypted until the moment it is sent."""
    policy = await replica.current(session)
    if event.expires_at <= now:
        return  # a code already expired is not worth a message
    plans = recipients.to_phone("login_code", event.phone_index, event.phone_enc, facts.login_code(event.expires_at),
                                channels=("sms",), secret_enc=event.code_enc)
    await notifications.create(session=session, plans=plans, source=str(envelope.id), now=now, policy=policy)


# --- Grid accountability: the registry names staff by username. ---
# A name the gateway has not announced (yet) is skipped, not retried: a roster may name someone
# who never gets an account, and retrying would hold the ordered consumer behind it until it gave up.
# The names nobody here knows are logged at info (staff usernames are not personal data).


async def _named_staff(session: AsyncSession, usernames: list[str], *, subject: str) -> list[recipients.Staff]:
    found, unknown = recipients.named(await projections.staff_named(session=session, usernames=usernames), usernames)
    if unknown:
        log.info("notify: staff not known here skipped", extra={"subject": subject, "usernames": ", ".join(unknown)})
    return found


async def _officials(session: AsyncSession, region_code: str) -> list[recipients.Staff]:
    return recipients.officials_of(await projections.staff_around(session=session, region_code=region_code), region_code)


async def staff_assigned(*, session: AsyncSession, event: registry.StaffAssigned, envelope: Envelope, now: datetime) -> None:
    """Each of the five is told whom they answer for; empty duties go to the region's officials."""
    policy = await replica.current(session)
    person = await _person_or_retry(session, event.person_id)
    held = recipients.duties_by_username(event.staff)
    place = await places.label(session=session, code=event.region_code)
    plans = []
    for member in await _named_staff(session, list(held), subject=event.subject):
        plans += recipients.to_staff("staff_assigned", [member], facts.staff_assigned(
            event, "zh", person=person.name_masked, duties=held[member.username], place=place),
            region_code=event.region_code, person_id=event.person_id)
    if event.missing:
        plans += recipients.to_staff("staff_missing", await _officials(session, event.region_code),
                                     facts.staff_missing(event, "zh", person=person.name_masked, place=place),
                                     region_code=event.region_code, person_id=event.person_id)
    await notifications.create(session=session, plans=plans, source=str(envelope.id), now=now, policy=policy)


async def follow_up_not_done(*, session: AsyncSession, event: registry.FollowUpFacts, envelope: Envelope, now: datetime) -> None:
    """Missed: the named grid worker. Escalated: the named village cadre and the region's officials."""
    policy = await replica.current(session)
    person = await projections.find_person(session=session, person_id=event.person_id)
    kind = "followup_escalated" if isinstance(event, registry.FollowUpEscalated) else "followup_missed"
    staff = await _named_staff(session, event.notify, subject=event.subject)
    if kind == "followup_escalated":
        staff = recipients.together(staff, await _officials(session, event.region_code))
    place = await places.label(session=session, code=event.region_code)
    plans = recipients.to_staff(kind, staff, facts.follow_up(event, "zh", person=person.name_masked if person else "", place=place),
                                region_code=event.region_code, person_id=event.person_id)
    await notifications.create(session=session, plans=plans, source=str(envelope.id), now=now, policy=policy)


async def report_reminded(*, session: AsyncSession, event: registry.ReportReminded, envelope: Envelope, now: datetime) -> None:
    policy = await replica.current(session)
    staff = await _named_staff(session, event.notify, subject=event.subject)
    place = await places.label(session=session, code=event.region_code)
    plans = recipients.to_staff("report_reminder", staff, facts.report(event, "zh", place=place), region_code=event.region_code)
    await notifications.create(session=session, plans=plans, source=str(envelope.id), now=now, policy=policy)


async def report_missing(*, session: AsyncSession, event: registry.ReportMissing, envelope: Envelope, now: datetime) -> None:
    """The officials above the silent unit (of the unit itself when it has no parent)."""
    policy = await replica.current(session)
    above = event.parent_region or event.region_code
    place = await places.label(session=session, code=event.region_code)  # the silent unit, by name
    plans = recipients.to_staff("report_missing", await _officials(session, above), facts.report(event, "zh", place=place),
                                region_code=above)
    await notifications.create(session=session, plans=plans, source=str(envelope.id), now=now, policy=policy)


async def lead_overdue(*, session: AsyncSession, event: registry.LeadOverdue, envelope: Envelope, now: datetime) -> None:
    """An overdue lead is an alert to the officials of its county (else of its own place), acknowledged within
    the policy's minutes or escalated, once per lead. A lead with no place is the admins' list only."""
    place = event.county_code or event.region_code
    if place is None:
        log.info("notify: overdue lead has no place; admins see it in their list", extra={"lead_id": str(event.lead_id)})
        return
    policy = await replica.current(session)
    facts_ = facts.lead_overdue(event, policy, ack_minutes=policy.notifications.alert_ack_minutes,
                                place=await places.label(session=session, code=event.region_code or place))
    await alerts.raise_alert(session=session, source=f"lead_overdue:{event.lead_id}", kind="lead_overdue",
                             region_code=place, facts=facts_, now=now, policy=policy)


# --- Cases and release ---

CASE_KINDS = {"registry.case.confirmed": "case_confirmed", "registry.case.discharged": "case_discharged",
              "registry.case.withdrawn": "case_withdrawn"}


async def case_changed(*, session: AsyncSession, event: registry.CaseFacts, envelope: Envelope, now: datetime) -> None:
    """The person's responsible staff and the officials of their county."""
    policy = await replica.current(session)
    person = await _person_or_retry(session, event.person_id)
    staff = await _named_staff(session, event.notify, subject=event.subject)
    staff = recipients.together(staff, await _officials(session, event.county_code or event.region_code))
    place = await places.label(session=session, code=event.region_code)
    plans = recipients.to_staff(CASE_KINDS[event.subject], staff, facts.case(event, "zh", person=person.name_masked, place=place),
                                region_code=event.region_code, person_id=event.person_id)
    await notifications.create(session=session, plans=plans, source=str(envelope.id), now=now, policy=policy)


async def release_blocked(*, session: AsyncSession, event: registry.MeasureReleaseBlocked, envelope: Envelope, now: datetime) -> None:
    """Told once (the registry announces a blocked release once): the person's responsible staff, else the
    region's officials."""
    policy = await replica.current(session)
    person = await _person_or_retry(session, event.person_id)
    staff = await _named_staff(session, event.notify, subject=event.subject) or await _officials(session, event.region_code)
    place = await places.label(session=session, code=event.region_code)
    plans = recipients.to_staff("release_blocked", staff,
                                facts.release_blocked(event, "zh", person=person.name_masked, place=place),
                                region_code=event.region_code, person_id=event.person_id)
    await notifications.create(session=session, plans=plans, source=str(envelope.id), now=now, policy=policy)
