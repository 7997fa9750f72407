"""Scheduled tests from the registry's measures: kept, fulfilled by samples, announced once a day.

``apply_measure``, ``release_measure`` and ``fulfil`` run inside a caller's transaction (the
registry consumer, or a sample use case); ``announce`` is a use case of its own and commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cordon import paging, regions
from cordon.auth import Principal
from cordon.bus import outbox
from cordon.clock import local_date
from cordon.contracts.registry import MeasureFacts
from cordon.contracts.testing import ScheduleCancelled, ScheduleDue, ScheduleFulfilled, ScheduleOverdue
from cordon.db import dialect_insert, slices
from cordon.errors import RegionNotFound
from cordon.policy import replica
from services.testing.domain import schedules as rules
from services.testing.models import PersonRef, Sample, ScheduleAnnouncement, TagSeries, TestSchedule

ANNOUNCE_SLICE = 1000


async def apply_measure(*, session: AsyncSession, event: MeasureFacts, now: datetime) -> None:
    """A measure assigned (or reassigned with other days): its test days become the open schedule."""
    rows = await session.execute(select(TestSchedule.due_on, TestSchedule.status).where(TestSchedule.measure_id == event.measure_id))
    plan = rules.plan(dict(rows.all()), event.test_days)
    if plan.add:
        values = [
            {"id": uuid.uuid4(), "measure_id": event.measure_id, "person_id": event.person_id, "region_code": event.region_code,
             "due_on": day, "status": "open", "created_at": now, "updated_at": now, "measure_kind": event.kind}
            for day in plan.add
        ]
        await session.execute(dialect_insert(session, TestSchedule).values(values).on_conflict_do_nothing(index_elements=["measure_id", "due_on"]))
    for days, status in ((plan.reopen, "open"), (plan.cancel, "cancelled")):
        if days:
            changed = await session.execute(
                update(TestSchedule)
                .where(TestSchedule.measure_id == event.measure_id, TestSchedule.due_on.in_(days))
                .values(status=status, updated_at=now)
                .returning(*_FACTS)
            )
            if status == "cancelled":
                await _announce(session, ScheduleCancelled, changed.all())
    # The person may have moved region since: open tests follow them.
    await session.execute(
        update(TestSchedule)
        .where(TestSchedule.measure_id == event.measure_id, TestSchedule.status == "open")
        .values(person_id=event.person_id, region_code=event.region_code, measure_kind=event.kind)
    )
    await _apply_household(session=session, event=event, now=now)
    await fulfil(session=session, person_ids={event.person_id, *event.household}, now=now)


HOUSEHOLD = "household"  # the tag of a cohabitant's test (the "+1" of an inbound person's home quarantine)


def _household_series(measure_id: uuid.UUID, person_id: uuid.UUID) -> uuid.UUID:
    return rules.series_id(person_id, f"{HOUSEHOLD}:{measure_id}")


async def _open_household(session: AsyncSession, measure_id: uuid.UUID) -> list[TestSchedule]:
    """The open cohabitant tests of a measure (few: only household rules make them)."""
    rows = (await session.execute(
        select(TestSchedule).where(TestSchedule.tag == HOUSEHOLD, TestSchedule.status == "open")
    )).scalars().all()
    return [r for r in rows if r.measure_id == _household_series(measure_id, r.person_id)]


async def _apply_household(*, session: AsyncSession, event: MeasureFacts, now: datetime) -> None:
    """The people living with the person are tested on the household days (one series per cohabitant and
    measure); a cohabitant no longer named, or a day no longer named, is cancelled."""
    members = set(event.household)
    dropped = [row for row in await _open_household(session, event.measure_id)
               if row.person_id not in members or row.due_on not in event.household_test_days]
    for row in dropped:
        row.status, row.updated_at = "cancelled", now
    await _announce(session, ScheduleCancelled, dropped)
    if not members or not event.household_test_days:
        return
    where = dict((await session.execute(
        select(PersonRef.person_id, PersonRef.region_code).where(PersonRef.person_id.in_(members))
    )).all())
    for member in sorted(members):
        series = _household_series(event.measure_id, member)
        rows = await session.execute(select(TestSchedule.due_on, TestSchedule.status).where(TestSchedule.measure_id == series))
        plan = rules.plan(dict(rows.all()), event.household_test_days)
        if plan.add:
            await session.execute(dialect_insert(session, TestSchedule).values([
                {"id": uuid.uuid4(), "measure_id": series, "person_id": member, "region_code": where.get(member, event.region_code),
                 "due_on": day, "status": "open", "created_at": now, "updated_at": now, "measure_kind": event.kind,
                 "tag": HOUSEHOLD}
                for day in plan.add
            ]).on_conflict_do_nothing(index_elements=["measure_id", "due_on"]))
        if plan.reopen:
            await session.execute(update(TestSchedule).where(TestSchedule.measure_id == series, TestSchedule.due_on.in_(plan.reopen))
                                  .values(status="open", updated_at=now))


async def release_measure(*, session: AsyncSession, event: MeasureFacts, now: datetime) -> None:
    """A released measure cancels its tests still open."""
    cancelled = await session.execute(
        update(TestSchedule)
        .where(TestSchedule.measure_id == event.measure_id, TestSchedule.status == "open")
        .values(status="cancelled", updated_at=now)
        .returning(*_FACTS)
    )
    household = await _open_household(session, event.measure_id)  # and its cohabitants' tests
    for row in household:
        row.status, row.updated_at = "cancelled", now
    await _announce(session, ScheduleCancelled, [*cancelled.all(), *household])


# What a schedule's events carry, as an UPDATE ... RETURNING gives it back.
_FACTS = (TestSchedule.id, TestSchedule.person_id, TestSchedule.region_code, TestSchedule.measure_id, TestSchedule.due_on)


async def _announce(session: AsyncSession, event, rows) -> None:
    """Tell the other services (notify's worklists) that these schedules closed: in the caller's transaction."""
    await outbox.add_many(session, [
        (event(schedule_id=r.id, person_id=r.person_id, region_code=r.region_code, measure_id=r.measure_id, due_on=r.due_on), r.id)
        for r in rows
    ])


async def fulfil(*, session: AsyncSession, person_ids: set[uuid.UUID], now: datetime) -> None:
    """Open tests of these people due on or before the day of their latest sample are fulfilled by it."""
    waiting: set[uuid.UUID] = set()
    for part in slices(person_ids):
        found = await session.execute(
            select(TestSchedule.person_id).distinct().where(TestSchedule.person_id.in_(part), TestSchedule.status == "open")
        )
        waiting.update(found.scalars())
    for person_id in waiting:
        latest = (
            await session.execute(
                select(Sample.id, Sample.collected_at)
                .where(Sample.person_id == person_id)
                .order_by(Sample.collected_at.desc())
                .limit(1)
            )
        ).first()
        if latest is None:
            continue
        fulfilled = await session.execute(
            update(TestSchedule)
            .where(
                TestSchedule.person_id == person_id,
                TestSchedule.status == "open",
                TestSchedule.due_on <= local_date(latest.collected_at),
            )
            .values(status="fulfilled", sample_id=latest.id, fulfilled_at=now, updated_at=now)
            .returning(*_FACTS)
        )
        await _announce(session, ScheduleFulfilled, fulfilled.all())


# Recurring tests by tag are laid out this many days ahead (the clockwork extends them each day).
SERIES_AHEAD_DAYS = 7


async def apply_tags(*, session: AsyncSession, person_id: uuid.UUID, region_code: str, tags: Iterable[str], now: datetime) -> None:
    """A person announced with ``tags``: a tag the policy tests periodically starts (or resumes) its series
    today; a tag dropped stops it and cancels its open tests. Inside the consumer's transaction."""
    policy = await replica.current(session)
    today = local_date(now)
    wanted = {p.tag for p in policy.testing.periodic} & set(tags)
    held = {s.tag: s for s in (await session.execute(select(TagSeries).where(TagSeries.person_id == person_id))).scalars()}
    for tag in wanted:
        series = held.get(tag)
        if series is None:
            session.add(TagSeries(person_id=person_id, tag=tag, series_id=rules.series_id(person_id, tag), region_code=region_code,
                                  since_on=today, active=True, updated_at=now))
        elif not series.active:
            series.active, series.since_on, series.region_code, series.updated_at = True, today, region_code, now
        else:
            series.region_code, series.updated_at = region_code, now
    for tag, series in held.items():
        if tag not in wanted and series.active:
            series.active, series.updated_at = False, now
            stopped = await session.execute(
                update(TestSchedule).where(TestSchedule.measure_id == series.series_id, TestSchedule.status == "open")
                .values(status="cancelled", updated_at=now).returning(*_FACTS)
            )
            await _announce(session, ScheduleCancelled, stopped.all())
    await session.flush()
    await session.execute(  # open tests follow the person to another region
        update(TestSchedule).where(TestSchedule.person_id == person_id, TestSchedule.tag.is_not(None), TestSchedule.status == "open")
        .values(region_code=region_code)
    )
    await extend_series(session=session, now=now, person_ids=[person_id])


async def extend_series(*, session: AsyncSession, now: datetime, person_ids: list[uuid.UUID] | None = None) -> int:
    """Lay out the recurring tests of active series from today to ``SERIES_AHEAD_DAYS`` ahead (idempotent:
    a day already laid out stays as it is); the number of tests added."""
    policy = await replica.current(session)
    periodic = {p.tag: p for p in policy.testing.periodic}
    today = local_date(now)
    end = today + timedelta(days=SERIES_AHEAD_DAYS)
    query = select(TagSeries).where(TagSeries.active.is_(True), TagSeries.tag.in_(list(periodic) or [""]))
    if person_ids is not None:
        query = query.where(TagSeries.person_id.in_(person_ids))
    added, people = 0, set()
    for series in (await session.execute(query.order_by(TagSeries.person_id, TagSeries.tag))).scalars().all():
        test = periodic[series.tag]
        days = rules.periodic_days(since=series.since_on, every_days=test.every_days, weekdays=test.weekdays, start=today, end=end)
        if not days:
            continue
        values = [
            {"id": uuid.uuid4(), "measure_id": series.series_id, "person_id": series.person_id, "region_code": series.region_code,
             "due_on": day, "status": "open", "created_at": now, "updated_at": now, "tag": series.tag}
            for day in days
        ]
        inserted = await session.execute(
            dialect_insert(session, TestSchedule).values(values)
            .on_conflict_do_nothing(index_elements=["measure_id", "due_on"]).returning(TestSchedule.id)
        )
        count = len(inserted.all())
        if count:
            added += count
            people.add(series.person_id)
    if people:
        await fulfil(session=session, person_ids=people, now=now)
    return added


async def announce(*, session: AsyncSession, now: datetime) -> dict[str, int]:
    """Publish testing.schedule.due for open tests that are due today, .overdue for those past due:
    each at most once, whatever the number of replicas (the announcement's unique key decides).
    Recurring tests by tag are laid out first."""
    await extend_series(session=session, now=now)
    await session.commit()
    policy = await replica.current(session)
    in_place = set(policy.testing.sampled_in_place)
    today = local_date(now)
    cutoff = rules.overdue_cutoff(today, policy.testing.overdue_after_days)
    counts = {"due": 0, "overdue": 0}
    windows = {
        "due": and_(TestSchedule.due_on <= today, TestSchedule.due_on > cutoff),
        "overdue": TestSchedule.due_on <= cutoff,
    }
    for kind, window in windows.items():
        while True:
            announced = exists().where(ScheduleAnnouncement.schedule_id == TestSchedule.id, ScheduleAnnouncement.kind == kind)
            batch = (
                await session.execute(
                    select(TestSchedule).where(TestSchedule.status == "open", window, ~announced).limit(ANNOUNCE_SLICE)
                )
            ).scalars().all()
            if not batch:
                break
            statement = dialect_insert(session, ScheduleAnnouncement).values(
                [{"schedule_id": s.id, "kind": kind, "announced_at": now} for s in batch]
            )
            claimed = set(
                (await session.execute(statement.on_conflict_do_nothing().returning(ScheduleAnnouncement.schedule_id))).scalars()
            )
            event = ScheduleDue if kind == "due" else ScheduleOverdue
            await outbox.add_many(
                session,
                [
                    (event(schedule_id=s.id, person_id=s.person_id, region_code=s.region_code, measure_id=s.measure_id,
                           due_on=s.due_on, at_door=s.measure_kind in in_place, tag=s.tag), s.id)
                    for s in batch
                    if s.id in claimed
                ],
            )
            counts[kind] += len(claimed)
            await session.commit()
    return counts


async def list_schedules(
    *, session: AsyncSession, principal: Principal, status: str, region_code: str | None, now: datetime,
    limit: int, cursor: str | None,
) -> paging.Page[dict]:
    policy = await replica.current(session)
    today = local_date(now)
    cutoff = rules.overdue_cutoff(today, policy.testing.overdue_after_days)
    window = TestSchedule.due_on <= cutoff if status == "overdue" else and_(TestSchedule.due_on <= today, TestSchedule.due_on > cutoff)
    query = select(TestSchedule).where(TestSchedule.status == "open", window)
    if region_code is not None:
        if not regions.is_region_code(region_code) or not principal.sees_region(region_code):
            raise RegionNotFound("No such region.")
        query = query.where(regions.within(TestSchedule.region_code, region_code))
    elif principal.role != "admin":
        query = query.where(regions.within_any(TestSchedule.region_code, principal.regions))
    page = await paging.keyset(session, query, order=(TestSchedule.due_on, TestSchedule.id), limit=limit, cursor=cursor)
    return page.map(lambda s: {
        "id": s.id, "person_id": s.person_id, "measure_id": s.measure_id, "region_code": s.region_code, "due_on": s.due_on,
        "status": rules.standing(s.due_on, today=today, overdue_after_days=policy.testing.overdue_after_days), "tag": s.tag,
    })
