"""Daily and zero reports (日报告、零报告): every region with a roster reports each day by the deadline."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cordon import paging, regions
from cordon.auth import Principal
from cordon.bus import outbox
from cordon.clock import local_date
from cordon.contracts import registry
from cordon.db import insert_or_ignore
from cordon.errors import Conflict, NotFound, RegionNotFound, Unprocessable
from cordon.policy import Policy
from services.registry.domain.accountability import is_late, reminder_due, report_deadline
from services.registry.models import DailyCount, DailyReport, FollowUp, Measure, Person, PersonTag, ReportNotice, Roster
from services.registry.service import audit, leads, places

COUNT_KEYS = ("returnees_screened", "under_control", "fever", "tests_taken")


async def _unit(session: AsyncSession, principal: Principal, region_code: str) -> Roster:
    roster = await session.get(Roster, region_code)
    if roster is None or not principal.sees_region(region_code):
        raise NotFound("This region is not a reporting unit (it has no roster).", code="unit_not_found")
    return roster


async def submit(*, session: AsyncSession, principal: Principal, data, now: datetime, policy: Policy) -> DailyReport:
    await _unit(session, principal, data.region_code)
    if not data.zero and data.counts is None:
        raise Unprocessable("A report that is not a zero report needs its counts.", code="counts_required")
    if await session.get(DailyReport, (data.region_code, data.date)) is not None:
        raise Conflict("This unit has reported for this day.", code="report_exists")
    tz = ZoneInfo(policy.timezone)
    late = is_late(now, data.date, policy.daily_reports.deadline, tz)
    by = principal.username or principal.subject
    report = DailyReport(
        region_code=data.region_code, report_on=data.date, zero=data.zero,
        counts=data.counts.model_dump() if data.counts else {}, note=data.note, late=late, submitted_at=now,
        submitted_by=by,
    )
    session.add(report)
    audit.record(session=session, principal=principal, action="report", entity="daily_report", entity_id=f"{data.region_code}:{data.date}")
    await outbox.add(
        session,
        registry.ReportSubmitted(
            region_code=data.region_code, on=data.date, deadline_at=report_deadline(data.date, policy.daily_reports.deadline, tz),
            late=late, zero=data.zero, by=by,
        ),
        key=data.region_code,
    )
    await session.commit()
    return report


async def listing(
    *, session: AsyncSession, principal: Principal, on: date, status: str | None, region_code: str | None,
    limit: int, cursor: str | None,
) -> paging.Page[dict]:
    """Every reporting unit in scope on day ``on``, by region code: its report, or that it is missing."""
    query = selection(principal=principal, on=on, status=status, region_code=region_code)
    page = await paging.keyset(session, query, order=(Roster.region_code,), limit=limit, cursor=cursor)
    return page.map(lambda row: _listed(row.region_code, on, row.DailyReport))


def selection(*, principal: Principal, on: date, status: str | None, region_code: str | None) -> Select:
    """(unit code, its report or None) for every reporting unit in scope on day ``on`` (the list and the export)."""
    scopes = [region_code] if region_code else (None if principal.role == "admin" else list(principal.regions))
    if region_code and not principal.sees_region(region_code):
        raise RegionNotFound("No such region.")
    query = select(Roster.region_code, DailyReport).outerjoin(
        DailyReport, and_(DailyReport.region_code == Roster.region_code, DailyReport.report_on == on)
    )
    if scopes is not None:
        query = query.where(regions.within_any(Roster.region_code, scopes))
    if status == "submitted":
        query = query.where(DailyReport.region_code.is_not(None))
    elif status == "missing":
        query = query.where(DailyReport.region_code.is_(None))
    return query


def _listed(region_code: str, on: date, report: DailyReport | None) -> dict:
    item = {"region_code": region_code, "date": on, "status": "submitted" if report else "missing"}
    if report:
        item |= {"late": report.late, "zero": report.zero, "counts": report.counts, "note": report.note,
                 "submitted_at": report.submitted_at, "submitted_by": report.submitted_by}
    return item


async def summary(*, session: AsyncSession, principal: Principal, region_code: str, on: date) -> dict:
    """Reports of the units inside a place on one day, rolled up: the place's totals, and one line per place
    directly inside it that holds units (a county's townships, a township's villages); one query."""
    if not principal.sees_region(region_code):
        raise RegionNotFound("No such region.")
    await places.get_region(session=session, code=region_code)
    rows = (await session.execute(
        select(Roster.region_code, DailyReport).outerjoin(
            DailyReport, and_(DailyReport.region_code == Roster.region_code, DailyReport.report_on == on)
        ).where(regions.within(Roster.region_code, region_code))
    )).all()
    groups: dict[str | None, list[DailyReport | None]] = {}
    for code, report in rows:
        groups.setdefault(regions.child_toward(region_code, code), []).append(report)
    children = sorted(code for code in groups if code is not None)
    names = await places.names(session=session, codes=[region_code, *children])
    return {
        **rollup([report for code, report in rows]), "region_code": region_code, "name": names.get(region_code), "date": on,
        "children": [{**rollup(groups[code]), "region_code": code, "name": names.get(code)} for code in children],
    }


def rollup(reports: list[DailyReport | None]) -> dict:
    """Units expected, submitted (late among them), missing, and the sum of the submitted counts."""
    done = [r for r in reports if r is not None]
    return {
        "expected": len(reports), "submitted": len(done), "late": sum(r.late for r in done), "missing": len(reports) - len(done),
        "counts": {key: sum(int((r.counts or {}).get(key, 0)) for r in done) for key in COUNT_KEYS},
    }


async def draft(
    *, session: AsyncSession, principal: Principal, region_code: str, on: date, policy: Policy, now: datetime | None = None
) -> dict:
    """The counts Cordon already knows for the unit and day, for the reporter to check and send; beside them the
    unit's big-data leads still open and those past their due time (as of ``now``, at most the day's end)."""
    await _unit(session, principal, region_code)
    tz = ZoneInfo(policy.timezone)
    start = datetime.combine(on, datetime.min.time(), tz)
    end = start + timedelta(days=1)
    in_unit = regions.within(Person.region_code, region_code)
    returnees = await session.scalar(
        select(func.count()).select_from(Person).join(PersonTag, (PersonTag.person_id == Person.id) & (PersonTag.tag == "returnee"))
        .where(in_unit, Person.created_at >= start, Person.created_at < end)
    )
    under_control = await session.scalar(
        select(func.count(func.distinct(Measure.person_id))).join(Person, Person.id == Measure.person_id)
        .where(in_unit, Measure.status != "released", Measure.starts_on <= on,
               or_(Measure.ends_on >= on, Measure.release_blocked.is_not(None)))
    )
    fever = await session.scalar(
        select(func.count(func.distinct(FollowUp.person_id))).join(Person, Person.id == FollowUp.person_id)
        .where(in_unit, FollowUp.recorded_at >= start, FollowUp.recorded_at < end, FollowUp.temperature >= policy.follow_ups.fever_celsius)
    )
    tests = await session.scalar(
        select(func.coalesce(func.sum(DailyCount.value), 0)).where(
            regions.within(DailyCount.region_code, region_code), DailyCount.count_on == on, DailyCount.kind == "tests_taken"
        )
    )
    as_of = min(now or end, end)
    lead_counts = await leads.counts(session=session, region_code=region_code, now=as_of)
    return {"region_code": region_code, "date": on, "counts": {
        "returnees_screened": returnees or 0, "under_control": under_control or 0, "fever": fever or 0, "tests_taken": tests or 0},
        "leads": {"open": lead_counts["leads_open"], "overdue": lead_counts["leads_overdue"]}}


async def count_test(*, session: AsyncSession, region_code: str, on: date) -> None:
    """A sample was taken from a person of this region today (from testing.sample.collected)."""
    row = await session.get(DailyCount, (region_code, on, "tests_taken"))
    if row is None:
        session.add(DailyCount(region_code=region_code, count_on=on, kind="tests_taken", value=1))
    else:
        row.value += 1


async def notices(*, session: AsyncSession, now: datetime, policy: Policy) -> int:
    """Remind units that have not reported as the deadline nears; list the missing for the parent once it passes."""
    tz = ZoneInfo(policy.timezone)
    today = local_date(now)
    rules = policy.daily_reports
    deadline = report_deadline(today, rules.deadline, tz)
    if reminder_due(now, today, rules.deadline, timedelta(minutes=rules.remind_before_minutes), tz):
        kind = "reminder"
    elif now >= deadline:
        kind = "missing"
    else:
        return 0
    reported = select(DailyReport.region_code).where(DailyReport.report_on == today)
    silent = (await session.execute(select(Roster).where(Roster.region_code.not_in(reported)))).scalars().all()
    sent = 0
    for unit in silent:
        if not await insert_or_ignore(
            session, ReportNotice.__table__, {"region_code": unit.region_code, "report_on": today, "kind": kind, "sent_at": now},
            conflict=["region_code", "report_on", "kind"],
        ):
            continue  # already sent (by this replica or another)
        if kind == "reminder":
            to = [u for u in (unit.staff.get("grid_worker"), unit.staff.get("village_cadre")) if u]
            event = registry.ReportReminded(region_code=unit.region_code, on=today, deadline_at=deadline, notify=to)
        else:
            event = registry.ReportMissing(region_code=unit.region_code, on=today, deadline_at=deadline, parent_region=regions.parent(unit.region_code))
        await outbox.add(session, event, key=unit.region_code)
        sent += 1
    return sent
