"""The health-code read model equals the rules, over random histories of a person's state (hypothesis).

Each example registers a person (the registration path writes the first row), then changes what a code
is derived from (measures assigned and released, a case, a positive, a pool positive awaiting retest, an
overdue test, a fever, the days passing) and lets the one use case that sets codes (``refresh_codes``)
run after each change, committing as a request would. After every step the read model's row must be
what the rules derive from the state as it now stands in the database, its version must count the
colour changes, and its answer must be the bytes the response model makes of the person's code.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from cordon import db, migrate
from cordon.bus.outbox import SOURCE
from cordon.policy import default as default_policy
from services.registry.api import views
from services.registry.domain import code_view, healthcode
from services.registry.models import HealthCode, Measure, Person
from services.registry.service import health
from tests.conftest import BACKENDS, Databases

POLICY = default_policy()
RULES = sorted(POLICY.rules)
KINDS = ["centralized_quarantine", "home_quarantine", "home_health_monitoring", "daily_health_monitoring"]
START = date(2026, 3, 1)

steps = st.one_of(
    st.tuples(st.just("measure"), st.sampled_from(KINDS), st.sampled_from(RULES), st.integers(-4, 3), st.integers(0, 14)),
    st.tuples(st.just("release"), st.integers(0, 20)),
    st.tuples(st.just("case"), st.booleans()),
    st.tuples(st.just("positive"), st.booleans()),
    st.tuples(st.just("pool"), st.none() | st.integers(0, 3)),
    st.tuples(st.just("overdue"), st.none() | st.integers(-3, 0)),
    st.tuples(st.just("fever"), st.none() | st.sampled_from([37.3, 38.0, 39.5])),
    st.tuples(st.just("day"), st.integers(1, 6)),
)


def _noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 4, tzinfo=UTC)


async def _expected(session, person_id: uuid.UUID, today: date) -> tuple[str, list[dict]]:
    """The rules applied afresh to the state in the database (not to what the use case saw)."""
    person = await session.get(Person, person_id)
    measures = (await session.execute(select(Measure).where(Measure.person_id == person_id))).scalars().all()
    state = healthcode.HealthState(
        measures=tuple(
            healthcode.ActiveMeasure(m.kind, m.rule, m.ends_on)
            for m in measures if m.status != "released" and m.starts_on <= today <= m.ends_on
        ),
        case=person.is_case, positive_at=person.positive_at, pool_positive_due_by=person.pool_positive_due_by,
        overdue_since=person.overdue_since, fever_celsius=person.fever_celsius,
        rule_titles={name: rule.title.zh for name, rule in POLICY.rules.items()},
    )
    color, reasons = healthcode.derive(state, POLICY)
    return color, [{"rule": r.rule, "detail": r.detail, "until": r.until.isoformat() if r.until else None} for r in reasons]


async def _check(sessionmaker, person_id: uuid.UUID, today: date, versions: int) -> str:
    async with sessionmaker() as session:
        color, reasons = await _expected(session, person_id, today)
        row = await session.get(HealthCode, person_id)
        person = await session.get(Person, person_id)
        assert row is not None
        assert (row.color, row.reasons) == (color, reasons)
        assert (person.health_color, person.health_reasons) == (color, reasons)
        assert row.until == code_view.until(reasons)
        assert row.version == person.health_version == versions
        assert row.updated_at == person.health_updated_at
        # The bytes the ordinary route sends (its response model over the person's columns), exactly.
        assert row.doc == views.health_code(person).model_dump_json()
        assert orjson.loads(row.doc)["reasons"] == reasons
        return color


async def _history(url: str, history: list[tuple]) -> None:
    engine = db.create_engine(url)
    sessionmaker = db.create_sessionmaker(engine)
    sessionmaker.kw["info"] = {SOURCE: "registry"}  # as the service's lifespan sets it: events name their source
    today, now = START, _noon(START)
    try:
        person_id = uuid.uuid4()
        async with sessionmaker() as session:
            person = Person(
                id=person_id, id_number_index=uuid.uuid4().hex, id_number_enc="x", id_number_masked="3204**********0011",
                name="张三", region_code="320413", tags=[], language="zh", created_at=now, updated_at=now, created_by="test",
            )
            session.add(person)
            await health.start_code(session=session, person=person, now=now)
            await session.commit()
        color, versions = await _check(sessionmaker, person_id, today, 0), 0
        measures: list[uuid.UUID] = []
        for step in history:
            async with sessionmaker() as session:
                person = await session.get(Person, person_id)
                match step:
                    case ("measure", kind, rule, start, length):
                        m = Measure(id=uuid.uuid4(), person_id=person_id, kind=kind, rule=rule, status="active",
                                    starts_on=today + timedelta(days=start), ends_on=today + timedelta(days=start + length),
                                    test_days=[], created_at=now, updated_at=now)
                        session.add(m)
                        measures.append(m.id)
                    case ("release", index) if measures:
                        m = await session.get(Measure, measures[index % len(measures)])
                        m.status, m.released_on = "released", today
                    case ("case", flag):
                        person.is_case = flag
                    case ("positive", flag):
                        person.positive_at = now if flag else None
                    case ("pool", due):
                        person.pool_positive_due_by = None if due is None else now + timedelta(days=due)
                    case ("overdue", since):
                        person.overdue_since = None if since is None else today + timedelta(days=since)
                    case ("fever", celsius):
                        person.fever_celsius = celsius
                    case ("day", days):
                        today += timedelta(days=days)
                        now = _noon(today)
                await session.flush()
                await health.refresh_codes(session=session, person_ids=[person_id], today=today, policy=POLICY)
                await session.commit()
            expected_color, _ = await _expected_color(sessionmaker, person_id, today)
            if expected_color != color:
                versions += 1
            color = await _check(sessionmaker, person_id, today, versions)
    finally:
        await engine.dispose()


async def _expected_color(sessionmaker, person_id, today):
    async with sessionmaker() as session:
        return await _expected(session, person_id, today)


@pytest.fixture(params=BACKENDS)
def migrated(request, tmp_path):
    dbs = Databases(request.param, tmp_path)
    url = asyncio.run(dbs.new("registry"))
    migrate.upgrade("registry", url)
    yield url
    asyncio.run(dbs.drop_all())


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(history=st.lists(steps, min_size=1, max_size=12))
def test_read_model_equals_the_rules_over_random_histories(migrated, history):
    # Each example is a new person in the same database: examples cannot see each other's rows.
    asyncio.run(_history(migrated, history))
