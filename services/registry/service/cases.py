"""Cases: the CDC review of a positive (确诊/无症状), discharge (出院) and its chain, and a case withdrawn when the
lab corrects the positive it rests on. Each step audited, announced, and told to the person's responsible staff
and the county's officials (notify)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cordon import regions
from cordon.auth import Principal
from cordon.bus import outbox
from cordon.clock import local_date
from cordon.contracts import registry
from cordon.errors import Conflict
from services.registry.domain import accountability
from services.registry.models import Case, Measure, Person, ResponsibleStaff
from services.registry.service import audit, evaluation, policies, rosters
from services.registry.service.health import refresh_codes


class NoCase(Conflict):
    code = "no_case"


class CaseExists(Conflict):
    code = "case_exists"


async def open_case(*, session: AsyncSession, person_id: uuid.UUID) -> Case | None:
    return (await session.execute(
        select(Case).where(Case.person_id == person_id, Case.status == "open").order_by(Case.created_at.desc()).limit(1)
    )).scalar_one_or_none()


async def latest_case(*, session: AsyncSession, person_id: uuid.UUID) -> Case | None:
    return (await session.execute(
        select(Case).where(Case.person_id == person_id).order_by(Case.created_at.desc()).limit(1)
    )).scalar_one_or_none()


async def _announce(session: AsyncSession, cls, case: Case, person: Person) -> None:
    staff = await session.get(ResponsibleStaff, person.id)
    notify = accountability.usernames(staff.staff if staff else None)
    await outbox.add(
        session,
        cls(
            case_id=case.id, person_id=person.id, region_code=person.region_code, county_code=regions.county(person.region_code),
            classification=case.classification, status=case.status, reviewed_at=case.reviewed_at, hospital=case.hospital,
            discharged_on=case.discharged_on, notify=notify, by=case.updated_by,
        ),
        key=person.id,
    )


async def confirm(*, session: AsyncSession, principal: Principal, person: Person, data, now: datetime) -> Case:
    """Record the CDC review: the person is a case (red, rule ``case``) until discharged."""
    if await open_case(session=session, person_id=person.id) is not None:
        raise CaseExists("This person already has an open case; discharge it first.")
    by = principal.username or principal.subject
    case = Case(
        id=uuid.uuid4(), person_id=person.id, classification=data.classification, status="open",
        reviewed_at=data.reviewed_at, hospital=data.hospital, positive_at=person.positive_at,
        created_at=now, created_by=by, updated_at=now, updated_by=by,
    )
    session.add(case)
    person.is_case = True
    await rosters.assign_from_roster(session=session, person_ids={person.id}, now=now)  # a case has its five too
    await session.flush()
    audit.record(session=session, principal=principal, action="confirm", entity="case", entity_id=case.id)
    await _announce(session, registry.CaseConfirmed, case, person)
    await refresh_codes(session=session, person_ids=[person.id], today=local_date(now), policy=await policies.current(session=session))
    await session.commit()
    return case


async def discharge(*, session: AsyncSession, principal: Principal, person: Person, data, now: datetime) -> tuple[Case, list[Measure]]:
    """Discharged from hospital: the case closes, the positive it rests on is settled, and the
    ``discharged_case`` chain starts from the discharge date (the date fact ``discharged_on``)."""
    case = await open_case(session=session, person_id=person.id)
    if case is None:
        raise NoCase("This person has no open case to discharge.")
    by = principal.username or principal.subject
    case.status, case.discharged_on, case.updated_at, case.updated_by = "discharged", data.discharged_on, now, by
    person.is_case, person.positive_at = False, None
    await session.flush()
    audit.record(session=session, principal=principal, action="discharge", entity="case", entity_id=case.id)
    await _announce(session, registry.CaseDischarged, case, person)
    policy = await policies.current(session=session)
    touched = await evaluation.evaluate(session=session, person_ids=[person.id], now=now, today=local_date(now), policy=policy)
    await refresh_codes(session=session, person_ids=[person.id], today=local_date(now), policy=policy)
    measures = await evaluation.measures_by_id(session=session, ids=touched)
    await session.commit()
    return case, measures


async def withdraw_for_correction(*, session: AsyncSession, person: Person, corrected_positive_at: datetime, lab: str, now: datetime) -> None:
    """Inside the result handler: the lab corrected the positive an open case rests on, so the case no longer
    stands (the caller refreshes the code)."""
    case = await open_case(session=session, person_id=person.id)
    if case is None or case.positive_at != corrected_positive_at:
        return
    case.status, case.updated_at, case.updated_by = "withdrawn", now, f"lab:{lab}"
    person.is_case = False
    audit.write(session=session, actor=f"lab:{lab}", role="lab", action="withdraw", entity="case", entity_id=case.id)
    await _announce(session, registry.CaseWithdrawn, case, person)
