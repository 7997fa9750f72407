"""Gatherings: file, read, list, approve, reject, cancel. Each move commits with its event."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cordon import paging, pii, regions
from cordon.auth import FIELD_STAFF, OFFICIALS, Principal
from cordon.bus import outbox
from cordon.clock import local_date
from cordon.contracts import events
from cordon.db import is_postgres
from cordon.errors import Forbidden, NotFound, RegionForbidden, RegionInvalid, RegionUnknownField
from cordon.pii import Vault
from cordon.policy import replica
from services.events.domain import thresholds, workflow
from services.events.models import Gathering, PlaceRef


class GatheringNotFound(NotFound):
    code = "gathering_not_found"


def is_organizer(principal: Principal, gathering: Gathering) -> bool:
    """The one who filed it, or the resident whose phone was given as the organiser's.

    ``gathering`` may also be a row holding its region and organiser columns (check-ins read them
    from their counter update)."""
    if principal.subject == gathering.organizer_subject:
        return True
    return principal.role == "resident" and bool(principal.phone_index) and principal.phone_index == gathering.organizer_phone_index


def may_see(principal: Principal, gathering: Gathering) -> bool:
    return is_organizer(principal, gathering) or (principal.role in FIELD_STAFF and principal.sees_region(gathering.region_code))


def _actor(principal: Principal) -> str:
    return principal.username or principal.subject


def check_region_code(region_code: str) -> None:
    if not regions.is_region_code(region_code):
        raise RegionInvalid("region_code must be a region code of 6, 9, 12 or 15 digits.", errors=[{"field": "region_code", "message": "invalid"}])


def facts(cls: type[events.GatheringFacts], g: Gathering, *, by: str | None = None, reason: str | None = None):
    return cls(
        gathering_id=g.id, title=g.title, kind=g.kind, region_code=g.region_code, status=g.status,
        requirement=g.requirement, starts_at=g.starts_at, ends_at=g.ends_at, expected_attendees=g.expected_attendees,
        organizer_phone_index=g.organizer_phone_index, organizer_phone_enc=g.organizer_phone_enc, by=by, reason=reason,
    )


async def check_venue(session: AsyncSession, region_code: str) -> None:
    """422 unless the venue is a place of the tree (as far as the registry's announcements have reached)."""
    check_region_code(region_code)
    if await session.get(PlaceRef, region_code) is None:
        raise RegionUnknownField("The venue's region_code names no place Cordon knows.",
                                 errors=[{"field": "venue.region_code", "message": "unknown"}])


async def file_gathering(*, session: AsyncSession, vault: Vault, principal: Principal, data, now: datetime) -> Gathering:
    await check_venue(session, data.venue.region_code)
    if principal.role != "resident" and not principal.sees_region(data.venue.region_code):
        raise RegionForbidden("The venue is outside your regions.")
    pii.checked_phone(data.organizer.phone, field="organizer.phone")
    thresholds.check_shape(data.kind, data.expected_attendees, data.tables)
    warnings = thresholds.check_times(data.starts_at, data.ends_at, now)
    rules = (await replica.current(session)).gatherings
    assessment = thresholds.assess(data.kind, data.expected_attendees, data.tables, data.plans(), rules)
    phone = pii.normalize_phone(data.organizer.phone)
    gathering = Gathering(
        id=uuid.uuid4(), title=data.title, kind=data.kind, region_code=data.venue.region_code, address=data.venue.address,
        starts_at=data.starts_at, ends_at=data.ends_at, gathering_on=local_date(data.starts_at),
        expected_attendees=data.expected_attendees, tables=data.tables,
        prevention_plan=data.prevention_plan, emergency_plan=data.emergency_plan,
        requirement=assessment.requirement, status=assessment.status,
        warnings=[asdict(w) for w in [*assessment.warnings, *warnings]], exposure=False, checked_in=0,
        organizer_name=data.organizer.name, organizer_phone_index=vault.index("phone", phone),
        organizer_phone_masked=pii.mask_phone(phone), organizer_phone_enc=vault.encrypt(phone),
        organizer_subject=principal.subject, filed_by_role=principal.role, created_at=now, updated_at=now,
    )
    session.add(gathering)
    await outbox.add(session, facts(events.GatheringSubmitted, gathering, by=_actor(principal)), key=gathering.id)
    await session.commit()
    return gathering


async def visible_gathering(*, session: AsyncSession, principal: Principal, gathering_id: uuid.UUID) -> Gathering:
    """The gathering, if the caller may see it; 404 otherwise (nothing learnt about other regions)."""
    gathering = await session.get(Gathering, gathering_id)
    if gathering is None or not may_see(principal, gathering):
        raise GatheringNotFound("No such gathering.")
    return gathering


_MOVES = {"approve": events.GatheringApproved, "reject": events.GatheringRejected, "cancel": events.GatheringCancelled}


async def _move(session: AsyncSession, principal: Principal, gathering: Gathering, action: str, reason: str | None, now: datetime) -> Gathering:
    # Lock the row (PostgreSQL) so two officials deciding at once meet the transition table one after the other.
    await session.refresh(gathering, with_for_update=is_postgres(session))
    gathering.status = workflow.next_status(gathering.status, action)
    if action == "cancel":
        gathering.cancelled_by, gathering.cancelled_at, gathering.cancel_reason = _actor(principal), now, reason
    else:
        gathering.decided_by, gathering.decided_at, gathering.decision_reason = _actor(principal), now, reason
    gathering.updated_at = now
    await outbox.add(session, facts(_MOVES[action], gathering, by=_actor(principal), reason=reason), key=gathering.id)
    await session.commit()
    return gathering


async def decide_gathering(
    *, session: AsyncSession, principal: Principal, gathering_id: uuid.UUID, action: str, reason: str | None, now: datetime
) -> Gathering:
    """Approve or reject: an official (or admin) whose regions hold the venue."""
    gathering = await visible_gathering(session=session, principal=principal, gathering_id=gathering_id)
    if principal.role not in OFFICIALS:
        raise Forbidden("Only an official of the venue's region decides on a gathering.")
    if not principal.sees_region(gathering.region_code):  # an organiser who is an official elsewhere
        raise GatheringNotFound("No such gathering.")
    return await _move(session, principal, gathering, action, reason, now)


async def cancel_gathering(
    *, session: AsyncSession, principal: Principal, gathering_id: uuid.UUID, reason: str | None, now: datetime
) -> Gathering:
    """Cancel: the organiser, or an official (or admin) of the venue's region."""
    gathering = await visible_gathering(session=session, principal=principal, gathering_id=gathering_id)
    official = principal.role in OFFICIALS and principal.sees_region(gathering.region_code)
    if not (official or is_organizer(principal, gathering)):
        raise Forbidden("Only the organiser or an official cancels a gathering.")
    return await _move(session, principal, gathering, "cancel", reason, now)



async def list_gatherings(
    *,
    session: AsyncSession,
    principal: Principal,
    status: str | None,
    region_code: str | None,
    starts_from: datetime | None,
    starts_before: datetime | None,
    limit: int,
    cursor: str | None,
) -> paging.Page[Gathering]:
    """Staff: their regions (or one region inside them). Residents: the gatherings they organise."""
    query = select(Gathering)
    if region_code:
        check_region_code(region_code)
        if principal.role != "resident" and not principal.sees_region(region_code):
            raise RegionForbidden("The region is outside your regions.")
        query = query.where(regions.within(Gathering.region_code, region_code))
    if principal.role == "resident":
        own = [Gathering.organizer_subject == principal.subject]
        if principal.phone_index:
            own.append(Gathering.organizer_phone_index == principal.phone_index)
        query = query.where(or_(*own))
    elif principal.role != "admin" and not region_code:
        query = query.where(regions.within_any(Gathering.region_code, principal.regions))
    if status:
        query = query.where(Gathering.status == status)
    if starts_from:
        query = query.where(Gathering.starts_at >= starts_from)
    if starts_before:
        query = query.where(Gathering.starts_at < starts_before)
    return await paging.keyset(session, query, order=(Gathering.starts_at, Gathering.id), limit=limit, cursor=cursor)
