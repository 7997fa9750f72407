"""A policy change re-evaluates the people it affects the same minute, those already under control included:
a longer chain or new test days extend their open measures (an end never shrinks), a new rule reaches those
whose facts it names."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cordon.clock import local_date
from cordon.policy import Policy
from services.registry.models import Case, Exposure, Measure, Person, PersonTag
from services.registry.service import evaluation, risk_areas

TRAVEL_TRIGGERS = ("travel", "county_travel", "city_travel", "province_travel")


def changed_rules(old: Policy, new: Policy) -> set[str]:
    """Rules added, removed or changed in any way (a different travel window changes every travel rule)."""
    names = set(old.rules) | set(new.rules)
    changed = {n for n in names if old.rules.get(n) != new.rules.get(n)}
    if old.travel_window_days != new.travel_window_days:
        changed |= {n for n in names if (new.rules.get(n) or old.rules[n]).trigger.type in TRAVEL_TRIGGERS}
    return changed


async def affected_people(*, session: AsyncSession, old: Policy, new: Policy, now: datetime) -> set[uuid.UUID]:
    """Whoever a changed rule may concern: people with open measures of it, with its exposures, its tag or its
    date fact, or (a travel rule) travel around the areas of the risk list within the longer window."""
    changed = changed_rules(old, new)
    if not changed:
        return set()
    rules = [r for n in changed for r in (old.rules.get(n), new.rules.get(n)) if r is not None]
    people: set[uuid.UUID] = set()
    people |= set((await session.execute(
        select(Measure.person_id).distinct().where(Measure.rule.in_(changed), Measure.status.in_(("scheduled", "active")))
    )).scalars())
    people |= set((await session.execute(
        select(Exposure.person_id).distinct().where(Exposure.rule.in_(changed), Exposure.person_id.is_not(None))
    )).scalars())
    tags = {r.trigger.tag for r in rules if r.trigger.type == "tag"}
    if tags:
        people |= set((await session.execute(select(PersonTag.person_id).distinct().where(PersonTag.tag.in_(tags)))).scalars())
    facts = {r.trigger.date for r in rules if r.trigger.type in ("tag", "date")}
    if "entry_date" in facts:
        people |= set((await session.execute(select(Person.id).where(Person.entry_date.is_not(None)))).scalars())
    if facts & {"case_confirmed_on", "discharged_on"}:
        people |= set((await session.execute(select(Case.person_id).distinct())).scalars())
    if any(r.trigger.type in TRAVEL_TRIGGERS for r in rules):
        since = local_date(now) - timedelta(days=max(old.travel_window_days, new.travel_window_days))
        for area in (await evaluation.risk_list(session=session, now=now)):
            people |= await risk_areas.travellers(session=session, region_code=area, since=since)
    return people


async def reevaluate(*, session: AsyncSession, old: Policy, new: Policy, now: datetime) -> int:
    """Inside the transaction that stores the new policy: assign what it asks of the people it affects."""
    people = await affected_people(session=session, old=old, new=new, now=now)
    await evaluation.evaluate(session=session, person_ids=people, now=now, today=local_date(now), policy=new)
    return len(people)
