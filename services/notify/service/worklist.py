"""The worklist read model (work_item): kept from the registry's and testing's events and this service's
alerts, inside the consumer's transaction (no commit here), and read by GET /me/worklist.

Opening an item never reopens a closed one; marking it overdue never opens a closed one; closing always
wins. So the events may arrive in any order, and again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Row, delete, false, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from cordon import paging, pii, regions
from cordon.auth import Principal
from cordon.contracts import registry, testing
from cordon.db import dialect_insert
from services.notify.domain import recipients, work
from services.notify.models import PersonRef, WorkItem
from services.notify.service import places

# Closed items are kept this long (a late opening event must find them closed), then deleted.
TOMBSTONE = timedelta(days=3)


async def open_item(*, session: AsyncSession, item: work.Item, at: datetime) -> None:
    values = {**item.values(), "open": True, "updated_at": at}
    await session.execute(dialect_insert(session, WorkItem).values(values).on_conflict_do_nothing(index_elements=["id"]))


async def overdue_item(*, session: AsyncSession, item: work.Item, at: datetime) -> None:
    """Open and overdue; an item already closed stays closed."""
    values = {**item.values(), "overdue": True, "open": True, "updated_at": at}
    statement = dialect_insert(session, WorkItem).values(values)
    statement = statement.on_conflict_do_update(
        index_elements=["id"], set_={"overdue": True, "title": statement.excluded.title, "updated_at": statement.excluded.updated_at},
        where=WorkItem.open == true(),
    )
    await session.execute(statement)


async def close_item(*, session: AsyncSession, item: work.Closed, at: datetime) -> None:
    """Closed, whether it was seen open or not (then it is born closed: a late opening changes nothing)."""
    values = {"id": item.id, "kind": item.kind, "region_code": item.region_code, "open": False, "due_at": at,
              "shown_from": at, "overdue": False, "title": "", "updated_at": at}
    statement = dialect_insert(session, WorkItem).values(values)
    statement = statement.on_conflict_do_update(index_elements=["id"], set_={"open": False, "updated_at": at})
    await session.execute(statement)


async def link_notification(*, session: AsyncSession, item_id: uuid.UUID, notification_id: uuid.UUID) -> None:
    await session.execute(update(WorkItem).where(WorkItem.id == item_id).values(notification_id=notification_id)
                          .execution_options(synchronize_session=False))


async def follow_person(*, session: AsyncSession, person_id: uuid.UUID, region_code: str) -> None:
    """A person moved: their open follow-ups and tests go to the worklist of their new place."""
    await session.execute(
        update(WorkItem)
        .where(WorkItem.person_id == person_id, WorkItem.open == true(), WorkItem.kind.in_(("follow_up", "test")),
               WorkItem.region_code != region_code)
        .values(region_code=region_code)
        .execution_options(synchronize_session=False)
    )


# --- the events that feed it ---

def _follow_up(event: registry.FollowUpFacts, *, missed: bool = False) -> work.Item:
    return work.follow_up(person_id=event.person_id, region_code=event.region_code, measure_id=event.measure_id,
                          on=event.on, slot=event.slot, due_by=event.due_by, missed=missed)


def _test(event: testing.ScheduleFacts, *, overdue: bool = False) -> work.Item:
    return work.test(schedule_id=event.schedule_id, person_id=event.person_id, region_code=event.region_code,
                     measure_id=event.measure_id, due_on=event.due_on, overdue=overdue)


async def follow_up_due(*, session: AsyncSession, event: registry.FollowUpDue, at: datetime) -> None:
    await open_item(session=session, item=_follow_up(event), at=at)


async def follow_up_missed(*, session: AsyncSession, event: registry.FollowUpFacts, at: datetime) -> None:
    await overdue_item(session=session, item=_follow_up(event, missed=True), at=at)


async def follow_up_done(*, session: AsyncSession, event: registry.FollowUpDone, at: datetime) -> None:
    item = _follow_up(event)
    await close_item(session=session, item=work.closed(item.id, item.kind, item.region_code), at=at)


async def test_due(*, session: AsyncSession, event: testing.ScheduleDue, at: datetime) -> None:
    await open_item(session=session, item=_test(event), at=at)


async def test_overdue(*, session: AsyncSession, event: testing.ScheduleOverdue, at: datetime) -> None:
    await overdue_item(session=session, item=_test(event, overdue=True), at=at)


async def test_closed(*, session: AsyncSession, event: testing.ScheduleFacts, at: datetime) -> None:
    await close_item(session=session, item=work.closed(event.schedule_id, "test", event.region_code), at=at)


def _lead(event: registry.LeadFacts, *, at: datetime, overdue: bool = False) -> work.Item:
    who = event.name_masked or event.phone_masked or event.id_number_masked or ""
    return work.lead(lead_id=event.lead_id, region_code=event.region_code, due_at=event.due_at, opened_at=at, who=who,
                     overdue=overdue)


async def lead_opened(*, session: AsyncSession, event: registry.LeadOpened, at: datetime) -> None:
    """A lead with no place is the admins' (their lead list); it is on nobody's worklist."""
    if event.region_code:
        await open_item(session=session, item=_lead(event, at=at), at=at)


async def lead_overdue(*, session: AsyncSession, event: registry.LeadOverdue, at: datetime) -> None:
    if event.region_code:
        await overdue_item(session=session, item=_lead(event, at=at, overdue=True), at=at)


async def lead_closed(*, session: AsyncSession, event: registry.LeadClosed, at: datetime) -> None:
    await close_item(session=session, item=work.closed(event.lead_id, "lead", event.region_code or ""), at=at)


async def tidy(*, session: AsyncSession, now: datetime) -> int:
    """Delete tombstones past their keeping, and follow-ups of days long gone; commits."""
    deleted = await session.execute(
        delete(WorkItem).where(or_(
            (WorkItem.open == false()) & (WorkItem.updated_at < now - TOMBSTONE),
            WorkItem.shown_until < now - TOMBSTONE,
        )).execution_options(synchronize_session=False)
    )
    await session.commit()
    return deleted.rowcount or 0


# --- reading it ---

@dataclass(frozen=True)
class Line:
    item: Row  # a work_item row
    title: str
    place: str
    overdue: bool
    person_name: str | None


async def worklist(
    *, session: AsyncSession, principal: Principal, vault: pii.Vault, now: datetime, limit: int, cursor: str | None,
) -> paging.Page[Line]:
    """What is to be done today in the caller's places, soonest due first."""
    # Plain rows, not ORM objects (a page of 500 built as entities cost more than its query), with the person's
    # name joined in: two round trips a page, the other for the places' names.
    query = (
        select(*WorkItem.__table__.c, PersonRef.name_masked, PersonRef.name_enc, PersonRef.region_code.label("person_region"))
        .outerjoin(PersonRef, PersonRef.person_id == WorkItem.person_id)
        .where(
            WorkItem.open == true(),
            regions.within_any(WorkItem.region_code, principal.regions),
            WorkItem.shown_from <= now,
            or_(WorkItem.shown_until.is_(None), WorkItem.shown_until > now),
        )
    )
    page = await paging.keyset(session, query, order=(WorkItem.due_at, WorkItem.id), limit=limit, cursor=cursor)
    labels = await places.labels(session=session, codes=[i.region_code for i in page.items])

    def line(item: Row) -> Line:
        name = None
        if item.person_region is not None:  # the person is known here
            name = vault.decrypt(item.name_enc) if item.name_enc and recipients.in_care(
                role=principal.role, regions_held=principal.regions, region_code=item.person_region) else item.name_masked
        place = labels[item.region_code]
        return Line(item=item, title=work.reads(item.title, person=name, place=place), place=place,
                    overdue=work.is_overdue(kind=item.kind, flagged=item.overdue, due_at=item.due_at, now=now),
                    person_name=name)

    return page.map(line)
