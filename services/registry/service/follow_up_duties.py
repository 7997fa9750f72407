"""Follow-ups as duties: each day's slots for people under home quarantine or monitoring,
fulfilled by a follow-up, missed when the slot ends (the grid worker is told), escalated
when still missing after the policy's grace (the village cadre and the officials).

Every step is one set-based statement; a slot moves on once whatever the replicas.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cordon import paging, regions
from cordon.auth import Principal
from cordon.bus import outbox
from cordon.clock import local_date
from cordon.contracts import registry
from cordon.db import dialect_insert
from cordon.policy import Policy
from services.registry.domain import accountability
from services.registry.domain.accountability import slot_for, slots_of_day
from services.registry.models import FollowUpSlot, Measure, Person
from services.registry.service import rosters


async def open_today(*, session: AsyncSession, now: datetime, policy: Policy) -> int:
    """Create today's slots for everyone whose follow-up measure is active today (idempotent)."""
    tz = ZoneInfo(policy.timezone)
    today = local_date(now)
    created = 0
    for slot in slots_of_day(today, policy.follow_ups, tz):
        chosen = (
            select(
                Measure.person_id, Measure.id, Person.region_code, literal(today), literal(slot.name),
                literal(slot.ends_at, type_=FollowUpSlot.ends_at.type), literal("due"),
            )
            .join(Person, Person.id == Measure.person_id)
            .where(
                Measure.kind.in_(policy.follow_ups.kinds),
                Measure.status != "released",
                Measure.starts_on <= today,
                or_(Measure.ends_on >= today, Measure.release_blocked.is_not(None)),  # blocked: still in force
            )
        )
        statement = dialect_insert(session, FollowUpSlot).from_select(
            ["person_id", "measure_id", "region_code", "due_on", "slot", "ends_at", "status"], chosen
        ).on_conflict_do_nothing(index_elements=["person_id", "due_on", "slot"])  # opened already: the unique key says so
        opened = (await session.execute(statement.returning(*_FACTS))).all()
        # Announced in the same transaction: the worklists of the people's places show the slot.
        await outbox.add_many(session, [(_facts(registry.FollowUpDue, row), row.person_id) for row in opened])
        created += len(opened)
    return created


_FACTS = (FollowUpSlot.person_id, FollowUpSlot.measure_id, FollowUpSlot.region_code, FollowUpSlot.due_on, FollowUpSlot.slot,
          FollowUpSlot.ends_at)


def _facts(event, row, notify: list[str] | None = None):
    return event(person_id=row.person_id, region_code=row.region_code, measure_id=row.measure_id, on=row.due_on,
                 slot=row.slot, due_by=row.ends_at, notify=notify or [])


async def fulfil(*, session: AsyncSession, person: Person, measure: Measure, follow_up_id: uuid.UUID, now: datetime, policy: Policy) -> str | None:
    """Mark the slot this follow-up fulfils as done, and the measure's missed slots it makes up (done, late);
    the slot's name, or None outside every slot."""
    await make_up(session=session, person=person, measure=measure, follow_up_id=follow_up_id, now=now)
    slot = slot_for(now, policy.follow_ups, ZoneInfo(policy.timezone))
    if slot is None or measure.kind not in policy.follow_ups.kinds:
        return None
    values = {"status": "done", "done_at": now, "follow_up_id": follow_up_id}
    statement = dialect_insert(session, FollowUpSlot).values(
        person_id=person.id, measure_id=measure.id, region_code=person.region_code, due_on=slot.on, slot=slot.name,
        ends_at=slot.ends_at, **values,
    )
    # Not yet opened by the clockwork: born done. Open: now done. Already done: stays as it was.
    statement = statement.on_conflict_do_update(
        index_elements=["person_id", "due_on", "slot"], set_=values, where=FollowUpSlot.__table__.c.status == "due"
    )
    done = (await session.execute(statement.returning(*_FACTS))).first()
    if done is not None:  # the slot became done now (not: it was done already)
        await outbox.add(session, _facts(registry.FollowUpDone, done), key=person.id)
    return slot.name


async def make_up(*, session: AsyncSession, person: Person, measure: Measure, follow_up_id: uuid.UUID, now: datetime) -> int:
    """A follow-up after a slot was missed (the grid worker was told 请尽快补做) makes the measure's missed
    slots up: done, late (``done_at`` after ``ends_at``). The number made up."""
    missed = (await session.execute(
        select(FollowUpSlot.id, FollowUpSlot.status, FollowUpSlot.ends_at).where(
            FollowUpSlot.person_id == person.id, FollowUpSlot.measure_id == measure.id,
            FollowUpSlot.status.in_(("missed", "escalated")),
        )
    )).all()
    made_up = [row.id for row in missed if accountability.makes_up(row.status, row.ends_at, now)]
    if made_up:
        await session.execute(
            update(FollowUpSlot).where(FollowUpSlot.id.in_(made_up), FollowUpSlot.status.in_(("missed", "escalated")))
            .values(status="done", done_at=now, follow_up_id=follow_up_id)
        )
    return len(made_up)


async def _move(session: AsyncSession, *, from_status: str, to_status: str, ended_by: datetime, event, duty: str, limit: int) -> int:
    """Move slots that ended by ``ended_by`` from one status to the next (one statement, whatever the
    replicas), and stage one alert each for the person's staff member of ``duty``."""
    moved = (
        await session.execute(
            update(FollowUpSlot)
            .where(FollowUpSlot.id.in_(
                select(FollowUpSlot.id).where(FollowUpSlot.status == from_status, FollowUpSlot.ends_at <= ended_by).limit(limit)
            ))
            # Again on the row itself: on PostgreSQL a replica blocked on a row another replica moved rechecks
            # only these conditions (not the subquery's), and must find it no longer ``from_status``.
            .where(FollowUpSlot.status == from_status)
            .values(status=to_status)
            .returning(FollowUpSlot.person_id, FollowUpSlot.measure_id, FollowUpSlot.region_code, FollowUpSlot.due_on,
                       FollowUpSlot.slot, FollowUpSlot.ends_at)
            .execution_options(synchronize_session=False)
        )
    ).all()
    staff = await rosters.staff_of(session=session, person_ids={row.person_id for row in moved})
    await outbox.add_many(session, [
        (_facts(event, row, _named((staff.get(row.person_id) or {}).get(duty))), row.person_id) for row in moved
    ])
    return len(moved)


def _named(username: str | None) -> list[str]:
    return [username] if username else []


async def mark_missed(*, session: AsyncSession, now: datetime, limit: int = 5000) -> int:
    """Slots that ended undone become missed; each responsible grid worker is told."""
    return await _move(session, from_status="due", to_status="missed", ended_by=now, event=registry.FollowUpMissed,
                       duty="grid_worker", limit=limit)


async def escalate(*, session: AsyncSession, now: datetime, policy: Policy, limit: int = 5000) -> int:
    """Missed and still missing after the grace: the village cadre (and, through notify, the officials) are told."""
    cutoff = now - timedelta(minutes=policy.follow_ups.escalate_after_minutes)
    return await _move(session, from_status="missed", to_status="escalated", ended_by=cutoff,
                       event=registry.FollowUpEscalated, duty="village_cadre", limit=limit)


# The columns a list's answer is made of (``views.follow_up_item``; the id orders the pages): plain rows, no entities.
LIST_COLUMNS = (
    FollowUpSlot.id, FollowUpSlot.person_id, FollowUpSlot.measure_id, FollowUpSlot.region_code, FollowUpSlot.due_on,
    FollowUpSlot.slot, FollowUpSlot.ends_at, FollowUpSlot.status, FollowUpSlot.done_at,
)


def slot_selection(*, principal: Principal, status: str, region_code: str | None, columns: tuple = (FollowUpSlot,)) -> Select:
    """The slots due (or missed) in the caller's places (or the one asked): whole slots, or only ``columns`` of them."""
    query = select(*columns).where(FollowUpSlot.status.in_(("missed", "escalated") if status == "missed" else (status,)))
    scopes = [region_code] if region_code else list(principal.regions)
    if principal.role != "admin" or region_code:
        query = query.where(regions.within_any(FollowUpSlot.region_code, scopes))
    return query


async def list_slots(
    *, session: AsyncSession, principal: Principal, status: str, region_code: str | None, limit: int, cursor: str | None
) -> paging.Page:
    """One page of the slots due (or missed) in the caller's places, as plain rows of ``LIST_COLUMNS``."""
    query = slot_selection(principal=principal, status=status, region_code=region_code, columns=LIST_COLUMNS)
    return await paging.keyset(session, query, order=(FollowUpSlot.id,), limit=limit, cursor=cursor)

