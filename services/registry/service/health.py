"""Recompute health codes of a set of people; announce only a change of colour."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cordon.bus import outbox
from cordon.clock import utcnow
from cordon.contracts import registry
from cordon.policy import Policy
from services.registry.domain import healthcode
from services.registry.models import Measure, Person


def _titles(policy: Policy) -> dict[str, str]:
    return {name: rule.title.zh for name, rule in policy.rules.items()}


async def refresh_codes(*, session: AsyncSession, person_ids: list[uuid.UUID], today: date, policy: Policy) -> None:
    if not person_ids:
        return
    people = (await session.execute(select(Person).where(Person.id.in_(person_ids)))).scalars().all()
    active: dict[uuid.UUID, list[healthcode.ActiveMeasure]] = {}
    rows = await session.execute(
        select(Measure.person_id, Measure.kind, Measure.rule, Measure.ends_on).where(
            Measure.person_id.in_(person_ids),
            Measure.status != "released",
            Measure.starts_on <= today,
            Measure.ends_on >= today,
        )
    )
    for person_id, kind, rule, ends_on in rows:
        active.setdefault(person_id, []).append(healthcode.ActiveMeasure(kind, rule, ends_on))
    titles = _titles(policy)
    for person in people:
        state = healthcode.HealthState(
            measures=tuple(active.get(person.id, ())),
            case=person.is_case,
            positive_at=person.positive_at,
            pool_positive_due_by=person.pool_positive_due_by,
            overdue_since=person.overdue_since,
            fever_celsius=person.fever_celsius,
            rule_titles=titles,
        )
        color, reasons = healthcode.derive(state, policy)
        as_json = [{"rule": r.rule, "detail": r.detail, "until": r.until.isoformat() if r.until else None} for r in reasons]
        if color == person.health_color and as_json == person.health_reasons:
            continue
        previous = person.health_color
        person.health_color, person.health_reasons, person.health_updated_at = color, as_json, utcnow()
        if color != previous:
            person.health_version += 1  # older health-code passes are superseded
            await outbox.add(
                session,
                registry.HealthCodeChanged(
                    person_id=person.id,
                    region_code=person.region_code,
                    color=color,
                    previous=previous,
                    reasons=[registry.Reason(rule=r.rule, detail=r.detail, until=r.until) for r in reasons],
                ),
                key=person.id,
            )
