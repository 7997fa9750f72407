"""The command office's read model: kept from events, read by GET /stats/*.

Each ``on_*`` runs inside a consumer's transaction (with its inbox row: a redelivered event changes
nothing) and never commits. A state is kept per person, measure and lead, with the time of the event it
was written from: an older event arriving late changes nothing. Each change of state moves the
counters of its place by the difference (``domain.stats.deltas``), so the counters always equal a
count over the kept states — and, once the events are handled, over the registry's own rows.

The reads sum counters per place over a prefix range (``regions.within``): a county's overview touches
one row per village (or grid) and metric, whatever the number of people.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import get_args

from sqlalchemy import and_, case, delete, func, insert, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from cordon import regions
from cordon.auth import Principal
from cordon.clock import local_date
from cordon.contracts import registry, testing
from cordon.db import dialect_insert
from cordon.errors import RegionInvalid
from services.registry.domain import stats
from services.registry.models import (
    DailyReport,
    Roster,
    StatsCount,
    StatsDaily,
    StatsLead,
    StatsMeasure,
    StatsPerson,
    StatsPositive,
)
from services.registry.service import places

NEVER = datetime(1970, 1, 1, tzinfo=UTC)  # the time of a part no event has written yet: any event is newer
POSITIVE_DAYS = 14
KINDS = get_args(registry.MeasureKind)
_UNSET = object()


# --- writes (from events) -------------------------------------------------------------------------------


async def _bump(session: AsyncSession, changes: dict[tuple[str, str], int]) -> None:
    for (region_code, metric), n in sorted(changes.items()):
        statement = dialect_insert(session, StatsCount).values(region_code=region_code, metric=metric, value=n)
        statement = statement.on_conflict_do_update(
            index_elements=["region_code", "metric"], set_={"value": StatsCount.value + statement.excluded.value}
        )
        await session.execute(statement)


async def _bump_daily(session: AsyncSession, region_code: str, on: date, metric: str, n: int) -> None:
    statement = dialect_insert(session, StatsDaily).values(region_code=region_code, on=on, metric=metric, value=n)
    statement = statement.on_conflict_do_update(
        index_elements=["region_code", "on", "metric"], set_={"value": StatsDaily.value + statement.excluded.value}
    )
    await session.execute(statement)


def _state(p: StatsPerson) -> stats.PersonState:
    return stats.PersonState(p.region_code, p.color, p.overdue_since is not None)


async def _measures_of(session: AsyncSession, person_id: uuid.UUID) -> Counter:
    counts: Counter = Counter()
    for kind, status in await session.execute(
        select(StatsMeasure.kind, StatsMeasure.status).where(StatsMeasure.person_id == person_id)
    ):
        counts += stats.measure_counts(kind, status)
    return counts


async def _person(session: AsyncSession, person_id: uuid.UUID, region_code: str, *, id_number_index: str | None = None,
                  region_at: datetime = NEVER) -> StatsPerson:
    """The kept person, first counted (green, nothing overdue) at ``region_code`` if no event named them yet."""
    p = await session.get(StatsPerson, person_id)
    if p is None:
        p = StatsPerson(person_id=person_id, region_code=region_code, color="green", overdue_since=None,
                        id_number_index=id_number_index, region_at=region_at, color_at=NEVER)
        session.add(p)
        await session.flush()
        await _bump(session, stats.deltas(None, (region_code, stats.person_counts(_state(p)))))
    return p


async def _change(session: AsyncSession, p: StatsPerson, *, region_code: str | None = None, color: str | None = None,
                  overdue_since=_UNSET) -> None:
    before = _state(p)
    moving = region_code is not None and region_code != p.region_code
    carried = await _measures_of(session, p.person_id) if moving else Counter()
    if region_code is not None:
        p.region_code = region_code
    if color is not None:
        p.color = color
    if overdue_since is not _UNSET:
        p.overdue_since = overdue_since
    after = _state(p)
    await _bump(session, stats.deltas(
        (before.region_code, stats.person_counts(before) + carried), (after.region_code, stats.person_counts(after) + carried)
    ))


async def on_person(session: AsyncSession, event: registry.PersonFacts, at: datetime) -> None:
    p = await _person(session, event.person_id, event.region_code, id_number_index=event.id_number_index, region_at=at)
    p.id_number_index = event.id_number_index
    if at >= p.region_at:
        p.region_at = at
        await _change(session, p, region_code=event.region_code)


async def on_health_code(session: AsyncSession, event: registry.HealthCodeChanged, at: datetime) -> None:
    p = await _person(session, event.person_id, event.region_code)
    if at >= p.color_at:
        p.color_at = at
        await _change(session, p, color=event.color)


async def on_measure(session: AsyncSession, event: registry.MeasureFacts, at: datetime, *, status: str) -> None:
    p = await _person(session, event.person_id, event.region_code)
    row = await session.get(StatsMeasure, event.measure_id)
    if row is not None and row.at > at:
        return
    before = stats.measure_counts(row.kind, row.status) if row is not None else Counter()
    if row is None:
        row = StatsMeasure(measure_id=event.measure_id, person_id=event.person_id, kind=event.kind, status=status, at=at)
        session.add(row)
    row.kind, row.status, row.at = event.kind, status, at
    await _bump(session, stats.deltas((p.region_code, before), (p.region_code, stats.measure_counts(row.kind, row.status))))


async def on_overdue(session: AsyncSession, event: registry.TestOverdueChanged, at: datetime) -> None:
    p = await _person(session, event.person_id, event.region_code)
    if p.overdue_at is None or at >= p.overdue_at:
        p.overdue_at = at
        await _change(session, p, overdue_since=event.overdue_since)


async def on_result(session: AsyncSession, event: testing.ResultRecorded) -> None:
    """Positives per day (the result's day, China time), each sample once; a correction away from positive
    takes it back."""
    kept = await session.get(StatsPositive, event.sample_id)
    if event.outcome != "positive":
        if kept is not None and event.correction:
            await _bump_daily(session, kept.region_code, kept.on, "positives", -1)
            await session.delete(kept)
        return
    if kept is not None:
        return
    region_code = event.region_code
    if region_code is None:
        p = await session.get(StatsPerson, event.person_id) if event.person_id else None
        if p is None:
            p = (await session.execute(
                select(StatsPerson).where(StatsPerson.id_number_index == event.id_number_index)
            )).scalars().first()
        region_code = p.region_code if p is not None else None
    if region_code is None:
        return  # nobody registered under it yet: counted when testing tells it again with the person
    on = local_date(event.tested_at)
    session.add(StatsPositive(sample_id=event.sample_id, region_code=region_code, on=on))
    await _bump_daily(session, region_code, on, "positives", 1)


async def on_follow_up_missed(session: AsyncSession, event: registry.FollowUpMissed) -> None:
    await _bump_daily(session, event.region_code, event.on, "follow_ups_missed", 1)


async def on_lead(session: AsyncSession, event: registry.LeadFacts, at: datetime, *, open: bool | None = None,
                  overdue: bool | None = None) -> None:
    row = await session.get(StatsLead, event.lead_id)
    if row is not None and row.at > at:
        return
    before = stats.LeadState(row.region_code, row.open, row.overdue) if row is not None else None
    if row is None:
        row = StatsLead(lead_id=event.lead_id, region_code=event.region_code or "", open=True, overdue=False, at=at)
        session.add(row)
    row.region_code, row.at = event.region_code or "", at
    if open is not None:
        row.open = open
    if overdue is not None:
        row.overdue = overdue
    after = stats.LeadState(row.region_code, row.open, row.overdue)
    await _bump(session, stats.deltas(
        (before.region_code, stats.lead_counts(before)) if before else None, (after.region_code, stats.lead_counts(after))
    ))


# --- reads ----------------------------------------------------------------------------------------------


def scope(principal: Principal, region_code: str | None) -> str | None:
    """The place asked about: ``region_code`` (inside the caller's places), else the caller's one place;
    None = the whole country (an admin)."""
    if region_code is None:
        if principal.role == "admin":
            return None
        if len(principal.regions) == 1:
            return principal.regions[0]
        raise RegionInvalid("region_code is required when you look after more than one region.",
                            errors=[{"field": "region_code", "message": "required"}])
    places.check_region(principal, region_code)
    return region_code


def _within(column, code: str | None):
    return regions.within(column, code) if code is not None else column.is_not(None)


async def _report_counts(session: AsyncSession, code: str | None, on: date) -> dict[str, int]:
    expected = await session.scalar(select(func.count()).select_from(Roster).where(_within(Roster.region_code, code)))
    submitted, late = (await session.execute(
        select(func.count(), func.count().filter(DailyReport.late.is_(True)))
        .where(_within(DailyReport.region_code, code), DailyReport.report_on == on)
    )).one()
    return {"expected": expected or 0, "submitted": submitted or 0, "late": late or 0}


async def overview(*, session: AsyncSession, principal: Principal, region_code: str | None, on: date) -> dict:
    code = scope(principal, region_code)
    totals = Counter({metric: int(n) for metric, n in await session.execute(
        select(StatsCount.metric, func.sum(StatsCount.value)).where(_within(StatsCount.region_code, code))
        .group_by(StatsCount.metric)
    )})
    daily = select(StatsDaily.on, func.sum(StatsDaily.value)).where(_within(StatsDaily.region_code, code))
    first = on - timedelta(days=POSITIVE_DAYS - 1)
    positives = {day: int(n) for day, n in await session.execute(
        daily.where(StatsDaily.metric == "positives", StatsDaily.on >= first, StatsDaily.on <= on).group_by(StatsDaily.on)
    )}
    missed = await session.scalar(
        select(func.coalesce(func.sum(StatsDaily.value), 0)).where(
            _within(StatsDaily.region_code, code), StatsDaily.metric == "follow_ups_missed", StatsDaily.on == on)
    )
    return {
        "region_code": code,
        "date": on,
        **stats.overview(totals, KINDS),
        "follow_ups_missed": int(missed or 0),
        "reports": await _report_counts(session, code, on),
        "positives_by_day": [
            {"date": day, "count": int(positives.get(day, 0))} for day in (first + timedelta(days=i) for i in range(POSITIVE_DAYS))
        ],
    }


def _child_key(column, code: str | None):
    """SQL: the prefix of ``column`` naming the place one level below ``code`` (a province's cities by their
    first 4 digits, the country's provinces by 2; ``domain.stats.child_of`` pads and checks them)."""
    if code is None:
        return func.substr(column, 1, 2)
    level = regions.level(code)
    if level == "province":
        return func.substr(column, 1, 4)
    if level == "city":  # its counties; a city without counties (东莞 441900) holds townships directly
        return case((and_(func.length(column) > 6, func.substr(column, 1, 6) == code), func.substr(column, 1, 9)),
                    else_=func.substr(column, 1, 6))
    return func.substr(column, 1, len(code) + 3)


def _padded(key: str) -> str:
    return key + "0000" if len(key) == 2 else key + "00" if len(key) == 4 else key


async def by_place(*, session: AsyncSession, principal: Principal, region_code: str | None, on: date) -> dict:
    """The overview's counters for each place one level below, named, with each one's report status. Summed
    in the database by the child's code prefix: one row per child and metric comes back."""
    code = scope(principal, region_code)
    key = _child_key(StatsCount.region_code, code)
    rows = [(_padded(k), metric, int(n)) for k, metric, n in await session.execute(
        select(key, StatsCount.metric, func.sum(StatsCount.value)).where(_within(StatsCount.region_code, code))
        .group_by(key, StatsCount.metric)
    )]
    rolled = stats.roll_up(code, rows)
    unit_key = _child_key(Roster.region_code, code)
    reports = await session.execute(
        select(unit_key, func.count(), func.count(DailyReport.region_code), func.count().filter(DailyReport.late.is_(True)))
        .select_from(Roster)
        .outerjoin(DailyReport, (DailyReport.region_code == Roster.region_code) & (DailyReport.report_on == on))
        .where(_within(Roster.region_code, code))
        .group_by(unit_key)
    )
    report_counts: dict[str, Counter] = {}
    for unit, expected, submitted, late in reports:
        child = stats.child_of(code, _padded(unit))
        if child is not None:
            report_counts.setdefault(child, Counter()).update({"expected": expected, "submitted": submitted, "late": late})
    children = sorted(set(rolled) | set(report_counts))
    names = await places.names(session=session, codes=children) if children else {}
    items = []
    for child in children:
        r = report_counts.get(child, Counter())
        items.append({
            "region_code": child,
            "name": names.get(child),
            **stats.overview(rolled.get(child, Counter()), KINDS),
            "reports": {"expected": r["expected"], "submitted": r["submitted"], "late": r["late"]},
        })
    return {"region_code": code, "date": on, "children": items}


# --- recount (from the registry's own rows) -----------------------------------------------------------------


async def recount(*, session: AsyncSession, now: datetime) -> None:
    """The kept states and the counters again from the registry's own rows, in the caller's transaction:
    for a database whose people predate the read model (its events are older than the streams keep), or
    to check it. Each state is stamped ``now``: an event older than the recount changes nothing after it.
    Positives and missed follow-ups per day are not in the rows; they stay as the events left them."""
    from cordon.db import UTCDateTime
    from services.registry.models import Lead, Measure, Person

    stamp = literal(now, UTCDateTime())
    for table in (StatsCount, StatsPerson, StatsMeasure, StatsLead):
        await session.execute(delete(table))
    await session.execute(insert(StatsPerson).from_select(
        ["person_id", "region_code", "color", "overdue_since", "id_number_index", "region_at", "color_at", "overdue_at"],
        select(Person.id, Person.region_code, Person.health_color, Person.overdue_since, Person.id_number_index, stamp, stamp, stamp),
    ))
    await session.execute(insert(StatsMeasure).from_select(
        ["measure_id", "person_id", "kind", "status", "at"], select(Measure.id, Measure.person_id, Measure.kind, Measure.status, stamp),
    ))
    await session.execute(insert(StatsLead).from_select(
        ["lead_id", "region_code", "open", "overdue", "at"],
        select(Lead.id, func.coalesce(Lead.region_code, ""), Lead.status == "open", Lead.overdue_at.is_not(None), stamp),
    ))
    p, m, lead = StatsPerson, StatsMeasure, StatsLead
    parts = union_all(
        select(p.region_code, literal("people").label("metric")),
        select(p.region_code, (literal("color.") + p.color).label("metric")),
        select(p.region_code, literal("tests_overdue").label("metric")).where(p.overdue_since.is_not(None)),
        select(p.region_code, (literal("measure.") + m.kind).label("metric")).join(m, m.person_id == p.person_id)
        .where(m.status == "active"),
        select(lead.region_code, literal("leads_open").label("metric")).where(lead.open.is_(True)),
        select(lead.region_code, literal("leads_overdue").label("metric")).where(lead.open.is_(True), lead.overdue.is_(True)),
    ).subquery()
    await session.execute(insert(StatsCount).from_select(
        ["region_code", "metric", "value"],
        select(parts.c.region_code, parts.c.metric, func.count()).group_by(parts.c.region_code, parts.c.metric),
    ))
