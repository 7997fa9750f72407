"""Release by the tests (隔离期满核酸检测阴性方可解除): a measure past its end without its negatives stays active
and blocked; the negative completes it the same minute (the result handler), the clockwork sweeps what a race
left; a province-rule measure is lifted once the tests around the journey are on file.

Each runs inside its caller's transaction and never commits."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cordon.bus import outbox
from cordon.clock import local_date
from cordon.contracts import registry
from cordon.db import skip_locked
from cordon.policy import Policy
from services.registry.domain import accountability, engine, release
from services.registry.models import Measure, Person, PersonSample
from services.registry.service import evaluation, rosters

LIFTED_REASON = "抵达前已有核酸检测阴性证明，抵达后已按时进行核酸检测，按政策免于居家健康监测"


async def record_sample(*, session: AsyncSession, person_id: uuid.UUID, sample_id: uuid.UUID, collected_at: datetime,
                        outcome: str) -> None:
    """Keep (or update) what is known of one of the person's samples; a result replaces ``pending``."""
    row = await session.get(PersonSample, sample_id)
    if row is None:
        session.add(PersonSample(sample_id=sample_id, person_id=person_id, collected_at=collected_at, outcome=outcome))
    elif outcome != "pending":
        row.person_id, row.collected_at, row.outcome = person_id, collected_at, outcome


async def _samples(session: AsyncSession, measures: list[Measure]) -> dict[uuid.UUID, tuple[engine.Sample, ...]]:
    if not measures:
        return {}
    since = min(min(m.starts_on, m.ends_on) for m in measures) - timedelta(days=3)
    return await evaluation.samples_of(session=session, person_ids=list({m.person_id for m in measures}), since=since)


async def block_or_complete(
    *, session: AsyncSession, measures: list[Measure], regions: dict[uuid.UUID, str], today: date, now: datetime, policy: Policy
) -> None:
    """Measures whose last day has passed: completed when their release tests are on file (or they need none),
    else kept active with ``release_blocked``, their responsible staff told once."""
    samples = await _samples(session, measures)
    blocked: list[Measure] = []
    for m in measures:
        needs = release.needs(policy, m.rule, m.kind)
        if release.outcome(needs, m.ends_on, today, samples.get(m.person_id, ())) == "blocked":
            m.status, m.release_blocked, m.updated_at = "active", release.BLOCKED, now
            blocked.append(m)
        else:
            m.status, m.release_blocked, m.updated_at = "completed", None, now
            await outbox.add(session, evaluation.measure_event(registry.MeasureCompleted, m, regions[m.person_id]), key=m.id)
    staff = await rosters.staff_of(session=session, person_ids={m.person_id for m in blocked}) if blocked else {}
    for m in blocked:
        await outbox.add(
            session,
            evaluation.measure_event(registry.MeasureReleaseBlocked, m, regions[m.person_id], release_blocked=m.release_blocked,
                                     notify=accountability.usernames(staff.get(m.person_id))),
            key=m.id,
        )


async def settle(*, session: AsyncSession, person_ids: list[uuid.UUID], now: datetime, policy: Policy) -> bool:
    """After a sample or a result of these people: blocked measures whose negatives are now on file complete;
    travel measures whose journey tests are on file are lifted. Whether anything changed (refresh their codes)."""
    if not person_ids:
        return False
    today = local_date(now)
    exempt_rules = [name for name, rule in policy.rules.items() if rule.exempt is not None]
    open_ = (await session.execute(
        select(Measure).where(Measure.person_id.in_(person_ids), Measure.status.in_(("scheduled", "active")))
    )).scalars()
    measures = [m for m in open_ if m.release_blocked is not None or m.rule in exempt_rules]
    if not measures:
        return False
    samples = await _samples(session, measures)
    regions = dict((await session.execute(select(Person.id, Person.region_code).where(Person.id.in_({m.person_id for m in measures})))).all())
    changed = False
    for m in measures:
        own = samples.get(m.person_id, ())
        if m.release_blocked is not None:  # past its end already: only its negatives are missing
            if release.tests_done(release.needs(policy, m.rule, m.kind), m.ends_on, own):
                m.status, m.release_blocked, m.updated_at = "completed", None, now
                await outbox.add(session, evaluation.measure_event(registry.MeasureCompleted, m, regions[m.person_id]), key=m.id)
                changed = True
        elif release.exempted(policy, m.rule, m.starts_on, own):
            m.status, m.released_on, m.released_by, m.reason, m.updated_at = "released", today, "policy", LIFTED_REASON, now
            await outbox.add(
                session,
                evaluation.measure_event(registry.MeasureReleased, m, regions[m.person_id], reason=LIFTED_REASON, released_on=today),
                key=m.id,
            )
            changed = True
    return changed


async def blocked_people(*, session: AsyncSession, limit: int = 500) -> list[uuid.UUID]:
    """The clockwork's sweep: people with a blocked measure and a negative sample on file since its last days
    (a result and the measure's end committing together miss each other); row locks share it among replicas."""
    query = (
        select(Measure.person_id)
        .where(Measure.release_blocked.is_not(None), Measure.status == "active")
        .where(select(PersonSample.sample_id).where(
            PersonSample.person_id == Measure.person_id, PersonSample.outcome == "negative",
        ).exists())
        .order_by(Measure.person_id)
        .limit(limit)
    )
    return list(dict.fromkeys((await session.execute(skip_locked(session, query))).scalars()))
