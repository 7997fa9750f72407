"""Re-evaluate people against the policy: load their facts in bulk, run the engine, save the changes.

Set-based: a few queries per chunk of people, never a query per person.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import islice

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cordon import bulk, regions
from cordon.bus import outbox
from cordon.clock import CHINA, local_date, utcnow
from cordon.contracts import registry
from cordon.db import sync_loaded
from cordon.policy import Policy
from services.registry.domain import engine, household
from services.registry.domain.measures import status
from services.registry.models import Case, Exposure, Measure, Person, PersonSample, RiskArea, ServedTrigger, TravelRecord
from services.registry.service import rosters
from services.registry.service.health import refresh_codes

CHUNK = 500
OPEN = ("scheduled", "active")


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


def measure_event(cls, m, region_code: str, **extra):
    """The event of measure ``m`` (a ``Measure`` or any row with its fields, test days as ISO strings)."""
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


@dataclass(slots=True)
class _Written:
    """A measure as this evaluation writes it: the row (inserted or updated) and the event's source."""

    id: uuid.UUID
    person_id: uuid.UUID
    kind: str
    rule: str
    starts_on: date
    ends_on: date
    status: str
    test_days: list[str]
    updated_at: datetime


@dataclass
class _Writes:
    """One chunk's results, written set-based: a multi-row statement per table, the events in one."""

    inserted: list[dict] = field(default_factory=list)
    updated: list[_Written] = field(default_factory=list)
    triggers: list[dict] = field(default_factory=list)
    events: list[tuple[registry.MeasureAssigned, uuid.UUID]] = field(default_factory=list)

    async def flush(self, session: AsyncSession) -> None:
        await bulk.insert_rows(session, Measure, self.inserted)
        if self.updated:
            await bulk.update_rows(session, Measure, "id", [
                {"id": m.id, "rule": m.rule, "starts_on": m.starts_on, "ends_on": m.ends_on, "status": m.status,
                 "test_days": m.test_days, "updated_at": m.updated_at} for m in self.updated
            ])
            sync_loaded(session, Measure, (
                (m.id, {"rule": m.rule, "starts_on": m.starts_on, "ends_on": m.ends_on, "status": m.status,
                        "test_days": m.test_days, "updated_at": m.updated_at}) for m in self.updated
            ))
        await bulk.insert_rows(session, ServedTrigger, self.triggers)
        await outbox.add_many(session, self.events)


async def evaluate(
    *, session: AsyncSession,
    person_ids: Iterable[uuid.UUID], now: datetime,
    today: date,
    policy: Policy,
    extra: dict[uuid.UUID, list[engine.Requirement]] | None = None,
) -> list[uuid.UUID]:
    """Assign what the policy asks of these people; ``extra`` adds requirements not derived from facts
    (a measure an official sets by hand). Returns the ids of the measures created or extended, in order
    (``measures_by_id`` loads them).

    The engine decides person by person; what it decides is written a chunk at a time in multi-row Core
    statements (measures, served triggers, then the codes and, at the end, the responsible staff), with no
    ORM object per row: a risk area turning high evaluates 100,000 people in one transaction."""
    risk = await risk_list(session=session, now=now)
    window_start = today - timedelta(days=policy.travel_window_days)
    touched: list[uuid.UUID] = []
    started: set[uuid.UUID] = set()  # people with a measure new to them: their five staff are set
    for chunk in _chunks(person_ids):
        writes = _Writes()
        people = {p.id: p for p in await session.execute(
            select(Person.id, Person.region_code, Person.tags, Person.entry_date, Person.address, Person.household)
            .where(Person.id.in_(chunk))
        )}
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
        for pid, rule, key, exposed_on in await session.execute(
            select(Exposure.person_id, Exposure.rule, Exposure.key, Exposure.exposed_on).where(Exposure.person_id.in_(chunk))
        ):
            exposures.setdefault(pid, []).append(engine.Exposure(rule, key, exposed_on))
        measures: dict[uuid.UUID, dict[uuid.UUID, engine.Assigned]] = {}
        for m in await session.execute(
            select(Measure.id, Measure.person_id, Measure.kind, Measure.rule, Measure.starts_on, Measure.ends_on,
                   Measure.status, Measure.test_days)
            .where(Measure.person_id.in_(chunk))
        ):
            # Open ones only, sorted out here: with the status in the query, PostgreSQL walked the index of all
            # open measures (growing with every chunk) instead of the people's own (15 s of a turn of 20,000).
            if m.status not in OPEN:
                continue
            measures.setdefault(m.person_id, {})[m.id] = engine.Assigned(
                m.id, m.kind, m.rule, m.starts_on, m.ends_on, m.status, tuple(date.fromisoformat(d) for d in m.test_days))
        served: dict[uuid.UUID, dict[tuple[str, str], uuid.UUID]] = {}
        for pid, trigger, kind, measure_id in await session.execute(
            select(ServedTrigger.person_id, ServedTrigger.trigger, ServedTrigger.kind, ServedTrigger.measure_id).where(
                ServedTrigger.person_id.in_(chunk)
            )
        ):
            served.setdefault(pid, {})[(trigger, kind)] = measure_id

        for pid in chunk:
            person = people.get(pid)
            if person is None:
                continue
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
            own = measures.get(pid, {})
            own_served = served.get(pid, {})
            for change in engine.plan_assignment(required, list(own.values()), set(own_served), today, own_served):
                measure_id = await _apply(session, change, own, person, today, policy, writes)
                if change.changed:
                    touched.append(measure_id)
                if change.measure_id is None:
                    started.add(pid)
        await writes.flush(session)
        await refresh_codes(session=session, person_ids=chunk, today=today, policy=policy)
        await outbox.write_staged(session)  # the chunk's events, in one statement: none held to the commit
    await rosters.assign_from_roster(session=session, person_ids=started, now=now)
    return touched


async def measures_by_id(*, session: AsyncSession, ids: list[uuid.UUID]) -> list[Measure]:
    """The measures of ``ids``, in that order (as they stand now: an evaluation writes them with Core)."""
    if not ids:
        return []
    found = {m.id: m for m in (await session.execute(
        select(Measure).where(Measure.id.in_(ids)).execution_options(populate_existing=True)
    )).scalars()}
    return [found[i] for i in ids]


async def household_of(*, session: AsyncSession, person) -> list[uuid.UUID]:
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
    session: AsyncSession, change: engine.Change, own: dict[uuid.UUID, engine.Assigned], person, today: date,
    policy: Policy, writes: _Writes,
) -> uuid.UUID:
    """Create or change one measure, as rows and an event added to the chunk's ``writes``; its id."""
    person_id, region_code = person.id, person.region_code
    if change.measure_id is None:
        stamp = utcnow()
        measure = _Written(uuid.uuid4(), person_id, change.kind, change.rule, change.starts_on, change.ends_on,
                           status(change.starts_on, change.ends_on, today), [d.isoformat() for d in change.test_days], stamp)
        writes.inserted.append({
            "id": measure.id, "person_id": person_id, "kind": measure.kind, "rule": measure.rule,
            "starts_on": measure.starts_on, "ends_on": measure.ends_on, "status": measure.status,
            "test_days": measure.test_days, "created_at": stamp, "updated_at": stamp,
        })
    elif change.changed:
        was = own[change.measure_id]
        measure = _Written(was.id, person_id, was.kind, change.rule, change.starts_on, change.ends_on,
                           status(change.starts_on, change.ends_on, today), [d.isoformat() for d in change.test_days], utcnow())
        writes.updated.append(measure)
    else:
        measure = None
    measure_id = measure.id if measure is not None else change.measure_id
    writes.triggers.extend(
        {"person_id": person_id, "trigger": trigger, "kind": change.kind, "measure_id": measure_id} for trigger in change.triggers
    )
    if measure is not None:
        household_days = household.test_days(policy.rules.get(measure.rule), measure.kind, measure.starts_on, measure.ends_on)
        members = await household_of(session=session, person=person) if household_days else []
        writes.events.append((measure_event(
            registry.MeasureAssigned, measure, region_code, household=members,
            household_test_days=household_days if members else [],
        ), measure.id))
    return measure_id
