"""Re-evaluate people against the policy: load their facts in bulk, run the engine, save the changes.

Set-based: a few queries per chunk of people, never a query per person.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from itertools import islice

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cordon import regions
from cordon.bus import outbox
from cordon.clock import CHINA, local_date, utcnow
from cordon.contracts import registry
from cordon.policy import Policy
from services.registry.domain import engine, household
from services.registry.domain.measures import status
from services.registry.models import Case, Exposure, Measure, Person, PersonSample, RiskArea, ServedTrigger, TravelRecord
from services.registry.service import rosters
from services.registry.service.health import refresh_codes

CHUNK = 500


def _chunks(ids: Iterable[uuid.UUID], size: int = CHUNK):
    it = iter(dict.fromkeys(ids))
    while chunk := list(islice(it, size)):
        yield chunk


async def risk_list(*, session: AsyncSession, now: datetime) -> dict[str, str]:
    """Areas in force: code -> "high" | "medium", or "local" for a place with local cases and no higher level."""
    rows = await session.execute(
        select(RiskArea.region_code, RiskArea.level, RiskArea.local_cases).where(
            or_(RiskArea.level.in_(("high", "medium")), RiskArea.local_cases), RiskArea.effective_from <= now
        )
    )
    return {code: level if level in ("high", "medium") else engine.LOCAL_CASES for code, level, _ in rows}


def measure_event(cls, m: Measure, region_code: str, **extra):
    return cls(
        measure_id=m.id,
        person_id=m.person_id,
        region_code=region_code,
        kind=m.kind,
        rule=m.rule,
        starts_on=m.starts_on,
        ends_on=m.ends_on,
        status=m.status,
        test_days=[date.fromisoformat(d) for d in m.test_days],
        **extra,
    )


async def evaluate(
    *, session: AsyncSession,
    person_ids: Iterable[uuid.UUID], now: datetime,
    today: date,
    policy: Policy,
    extra: dict[uuid.UUID, list[engine.Requirement]] | None = None,
) -> list[Measure]:
    """Assign what the policy asks of these people; ``extra`` adds requirements not derived from facts
    (a measure an official sets by hand). Returns the measures created or extended."""
    risk = await risk_list(session=session, now=now)
    window_start = today - timedelta(days=policy.travel_window_days)
    touched: list[Measure] = []
    started: set[uuid.UUID] = set()  # people with a measure new to them: their five staff are set
    for chunk in _chunks(person_ids):
        staged: list[tuple[registry.MeasureAssigned, uuid.UUID]] = []  # the chunk's events, written in one statement
        people = {p.id: p for p in (await session.execute(select(Person).where(Person.id.in_(chunk)))).scalars()}
        travel: dict[uuid.UUID, list[engine.Travel]] = {}
        for pid, region, first, last in await session.execute(
            select(TravelRecord.person_id, TravelRecord.region_code, TravelRecord.first_seen, TravelRecord.last_seen).where(
                TravelRecord.person_id.in_(chunk), TravelRecord.last_seen >= window_start
            )
        ):
            travel.setdefault(pid, []).append(engine.Travel(region, first, last))
        samples = await samples_of(session=session, person_ids=chunk, since=window_start - timedelta(days=3))
        dates = await case_dates(session=session, person_ids=chunk)
        exposures: dict[uuid.UUID, list[engine.Exposure]] = {}
        for e in (await session.execute(select(Exposure).where(Exposure.person_id.in_(chunk)))).scalars():
            exposures.setdefault(e.person_id, []).append(engine.Exposure(e.rule, e.key, e.exposed_on))
        measures: dict[uuid.UUID, list[Measure]] = {}
        for m in (
            await session.execute(
                select(Measure).where(Measure.person_id.in_(chunk), Measure.status.in_(("scheduled", "active")))
            )
        ).scalars():
            measures.setdefault(m.person_id, []).append(m)
        served: dict[uuid.UUID, dict[tuple[str, str], uuid.UUID]] = {}
        for pid, trigger, kind, measure_id in await session.execute(
            select(ServedTrigger.person_id, ServedTrigger.trigger, ServedTrigger.kind, ServedTrigger.measure_id).where(
                ServedTrigger.person_id.in_(chunk)
            )
        ):
            served.setdefault(pid, {})[(trigger, kind)] = measure_id

        for pid, person in people.items():
            facts = engine.PersonFacts(
                tags=frozenset(person.tags or ()),
                dates=({"entry_date": person.entry_date} if person.entry_date else {}) | dates.get(pid, {}),
                travel=tuple(travel.get(pid, ())),
                exposures=tuple(exposures.get(pid, ())),
                samples=samples.get(pid, ()),
            )
            required = engine.requirements(facts, risk, policy, today) + (extra or {}).get(pid, [])
            if not required:
                continue
            own = {m.id: m for m in measures.get(pid, [])}
            assigned = [
                engine.Assigned(m.id, m.kind, m.rule, m.starts_on, m.ends_on, m.status,
                                tuple(date.fromisoformat(d) for d in m.test_days))
                for m in own.values()
            ]
            own_served = served.get(pid, {})
            for change in engine.plan_assignment(required, assigned, set(own_served), today, own_served):
                measure = await _apply(session, change, own, person, today, policy, staged)
                if change.changed:
                    touched.append(measure)
                if change.measure_id is None:
                    started.add(pid)
        await outbox.add_many(session, staged)
        await refresh_codes(session=session, person_ids=chunk, today=today, policy=policy)
    await rosters.assign_from_roster(session=session, person_ids=started, now=now)
    return touched


async def household_of(*, session: AsyncSession, person: Person) -> list[uuid.UUID]:
    """The people registered at the person's address in the same village, or linked to them explicitly by
    the same household key in the county (the person aside)."""
    home = household.village(person.region_code)
    found: set[uuid.UUID] = set()
    if home is not None and household.address_key(person.address):
        rows = await session.execute(
            select(Person.id, Person.region_code, Person.address).where(
                regions.within(Person.region_code, home), Person.id != person.id, Person.address.is_not(None)
            )
        )
        found |= {pid for pid, region, address in rows
                  if household.same_household(person.region_code, person.address, region, address)}
    if person.household:
        rows = await session.execute(
            select(Person.id, Person.region_code, Person.household).where(Person.household == person.household, Person.id != person.id)
        )
        found |= {pid for pid, region, key in rows if household.linked(person.region_code, person.household, region, key)}
    return sorted(found)


async def samples_of(
    *, session: AsyncSession, person_ids: list[uuid.UUID], since: date
) -> dict[uuid.UUID, tuple[engine.Sample, ...]]:
    """The samples of these people collected since ``since`` (local day), oldest first."""
    start = datetime.combine(since, datetime.min.time(), tzinfo=CHINA)
    found: dict[uuid.UUID, list[engine.Sample]] = {}
    for pid, collected_at, outcome in await session.execute(
        select(PersonSample.person_id, PersonSample.collected_at, PersonSample.outcome)
        .where(PersonSample.person_id.in_(person_ids), PersonSample.collected_at >= start)
        .order_by(PersonSample.collected_at)
    ):
        found.setdefault(pid, []).append(engine.Sample(collected_at, outcome))
    return {pid: tuple(items) for pid, items in found.items()}


async def case_dates(*, session: AsyncSession, person_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, date]]:
    """The date facts a person's latest case gives: when it was confirmed, and when they were discharged."""
    found: dict[uuid.UUID, dict[str, date]] = {}
    for case in (await session.execute(
        select(Case).where(Case.person_id.in_(person_ids), Case.status != "withdrawn").order_by(Case.created_at)
    )).scalars():
        dates = {"case_confirmed_on": local_date(case.reviewed_at)}
        if case.discharged_on is not None:
            dates["discharged_on"] = case.discharged_on
        found[case.person_id] = dates
    return found


async def _apply(
    session: AsyncSession, change: engine.Change, own: dict[uuid.UUID, Measure], person: Person, today: date,
    policy: Policy, staged: list,
) -> Measure:
    """Create or change one measure; its event goes into ``staged`` (written with the chunk's others)."""
    person_id, region_code = person.id, person.region_code
    stamp = utcnow()
    days = [d.isoformat() for d in change.test_days]
    if change.measure_id is None:
        measure = Measure(
            id=uuid.uuid4(), person_id=person_id, kind=change.kind, rule=change.rule, starts_on=change.starts_on,
            ends_on=change.ends_on, status=status(change.starts_on, change.ends_on, today), test_days=days,
            created_at=stamp, updated_at=stamp,
        )
        session.add(measure)
    else:
        measure = own[change.measure_id]
        if change.changed:
            measure.rule, measure.starts_on, measure.ends_on = change.rule, change.starts_on, change.ends_on
            measure.test_days, measure.updated_at = days, stamp
            measure.status = status(measure.starts_on, measure.ends_on, today)
    for trigger in change.triggers:
        session.add(ServedTrigger(person_id=person_id, trigger=trigger, kind=change.kind, measure_id=measure.id))
    if change.changed:
        household_days = household.test_days(policy.rules.get(measure.rule), measure.kind, measure.starts_on, measure.ends_on)
        members = await household_of(session=session, person=person) if household_days else []
        staged.append((measure_event(
            registry.MeasureAssigned, measure, region_code, household=members,
            household_test_days=household_days if members else [],
        ), measure.id))
    return measure
