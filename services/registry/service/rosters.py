"""Rosters and the five responsible staff of each controlled person (五包一)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cordon import bulk, regions
from cordon.auth import Principal
from cordon.bus import outbox
from cordon.contracts import registry
from cordon.db import slices
from cordon.errors import NotFound, RegionInvalid, RegionNotFound, Unprocessable
from services.registry.domain.accountability import missing_duties, resolve_roster
from services.registry.models import Person, ResponsibleStaff, Roster
from services.registry.service import audit, places, policies


async def duties(*, session: AsyncSession) -> list[str]:
    """The duties of the policy in force (五包一 by default)."""
    return (await policies.current(session=session)).rosters.duties


def _clean(staff: dict[str, str | None], duties: list[str]) -> dict[str, str | None]:
    unknown = set(staff) - set(duties)
    if unknown:
        raise Unprocessable(f"Unknown duties: {', '.join(sorted(unknown))}.", code="duty_unknown")
    return {duty: (staff.get(duty) or None) for duty in duties}


async def put_roster(*, session: AsyncSession, principal: Principal, region_code: str, staff: dict, now: datetime) -> Roster:
    if not regions.is_region_code(region_code):
        raise RegionInvalid("region_code must be a region code of 6, 9, 12 or 15 digits.")
    if not principal.sees_region(region_code):
        raise RegionNotFound("No such region.")
    await places.require_place(session=session, code=region_code)
    cleaned = _clean(staff, await duties(session=session))
    roster = await session.get(Roster, region_code)
    if roster is None:
        roster = Roster(region_code=region_code)
        session.add(roster)
    roster.staff, roster.updated_at, roster.updated_by = cleaned, now, principal.username or principal.subject
    audit.record(session=session, principal=principal, action="set", entity="roster", entity_id=region_code)
    await session.commit()
    return roster


async def get_roster(*, session: AsyncSession, principal: Principal, region_code: str) -> Roster:
    roster = await session.get(Roster, region_code)
    if roster is None or not principal.sees_region(region_code):
        raise NotFound("This region has no roster.", code="roster_not_found")
    return roster


async def staff_of(*, session: AsyncSession, person_ids: set[uuid.UUID]) -> dict[uuid.UUID, dict[str, str | None]]:
    """The responsible staff of these people, by duty (a slice of ids per query); people without any are absent."""
    found: dict[uuid.UUID, dict[str, str | None]] = {}
    for part in slices(person_ids):
        found.update((await session.execute(
            select(ResponsibleStaff.person_id, ResponsibleStaff.staff).where(ResponsibleStaff.person_id.in_(part))
        )).all())
    return found


async def rosters_above(*, session: AsyncSession, codes: set[str]) -> dict[str, dict]:
    """The rosters of these places and of every place above them (one query, by key)."""
    wanted = {up for code in codes for up in regions.ancestors(code)}
    found: dict[str, dict] = {}
    for part in slices(sorted(wanted)):
        found.update((r.region_code, r.staff) for r in (await session.execute(select(Roster).where(Roster.region_code.in_(part)))).scalars())
    return found


def _from_roster(region_code: str, rosters: dict[str, dict], duties: list[str]) -> tuple[str | None, dict[str, str | None]]:
    """The nearest roster above a place: grid, else village, else township, else county (then city, province)."""
    found = resolve_roster(region_code, rosters)
    return found if found else (None, {duty: None for duty in duties})


async def assign_from_roster(*, session: AsyncSession, person_ids: set[uuid.UUID], now: datetime) -> None:
    """People put under control get their five from the most specific roster; gaps are announced."""
    if not person_ids:
        return
    # A slice at a time: a risk area turning high hands over 100,000 people, and a statement takes at most
    # 32,767 parameters on PostgreSQL (the turn of 100,000 travellers answered 500).
    have: set[uuid.UUID] = set()
    for part in slices(person_ids):
        have.update((await session.execute(select(ResponsibleStaff.person_id).where(ResponsibleStaff.person_id.in_(part)))).scalars())
    todo = person_ids - have
    if not todo:
        return
    people: list = []  # (id, region_code) rows
    for part in slices(todo):
        people.extend(await session.execute(select(Person.id, Person.region_code).where(Person.id.in_(part))))
    rosters, named = await rosters_above(session=session, codes={p.region_code for p in people}), await duties(session=session)
    rows, staged = [], []
    for person in people:
        region, staff = _from_roster(person.region_code, rosters, named)
        rows.append({"person_id": person.id, "staff": staff, "roster_region": region, "assigned_at": now, "assigned_by": "roster"})
        staged.append((registry.StaffAssigned(person_id=person.id, region_code=person.region_code, roster_region=region,
                                              staff=staff, missing=missing_duties(staff, named)), person.id))
    await bulk.insert_rows(session, ResponsibleStaff, rows)  # one statement, no ORM object per person
    await outbox.add_many(session, staged)


async def reroute(*, session: AsyncSession, person: Person, now: datetime) -> None:
    """A controlled person moved: their responsible staff become those of the roster above their new place."""
    row = await session.get(ResponsibleStaff, person.id)
    if row is None:
        return
    named = await duties(session=session)
    region, staff = _from_roster(person.region_code, await rosters_above(session=session, codes={person.region_code}), named)
    row.staff, row.roster_region, row.assigned_at, row.assigned_by = staff, region, now, "roster"
    await outbox.add(
        session,
        registry.StaffAssigned(person_id=person.id, region_code=person.region_code, roster_region=region, staff=staff,
                               missing=missing_duties(staff, named)),
        key=person.id,
    )


async def get_responsible(*, session: AsyncSession, person: Person) -> ResponsibleStaff | None:
    return await session.get(ResponsibleStaff, person.id)


async def put_responsible(*, session: AsyncSession, principal: Principal, person: Person, staff: dict, now: datetime) -> ResponsibleStaff:
    named = await duties(session=session)
    cleaned = _clean(staff, named)
    row = await session.get(ResponsibleStaff, person.id)
    by = principal.username or principal.subject
    if row is None:
        row = ResponsibleStaff(person_id=person.id, roster_region=None)
        session.add(row)
    row.staff, row.assigned_at, row.assigned_by = cleaned, now, by
    audit.record(session=session, principal=principal, action="set", entity="responsible_staff", entity_id=person.id)
    await outbox.add(
        session,
        registry.StaffAssigned(
            person_id=person.id, region_code=person.region_code, roster_region=row.roster_region, staff=cleaned,
            missing=missing_duties(cleaned, named), by=by,
        ),
        key=person.id,
    )
    await session.commit()
    return row
