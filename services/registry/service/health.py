"""Health codes: the one place a person's code is set. Recompute the codes of a set of people, keep the
read model (``health_code``) in the same transaction, and announce only a change of colour."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cordon import bulk
from cordon.bus import outbox
from cordon.clock import utcnow
from cordon.contracts import registry
from cordon.db import sync_loaded
from cordon.policy import Policy
from services.registry.domain import code_view, healthcode
from services.registry.models import HealthCode, Measure, Person


async def set_overdue(*, session: AsyncSession, person: Person, overdue_since: date | None) -> None:
    """Every change of a person's overdue test goes through here, announced (the command office counts them)."""
    if overdue_since == person.overdue_since:
        return
    person.overdue_since = overdue_since
    await outbox.add(
        session,
        registry.TestOverdueChanged(person_id=person.id, region_code=person.region_code, overdue_since=overdue_since),
        key=person.id,
    )


def _titles(policy: Policy) -> dict[str, str]:
    return {name: rule.title.zh for name, rule in policy.rules.items()}


async def _store_views(session: AsyncSession, codes: list[tuple]) -> None:
    """The read model's rows for (person id, colour, reasons, version, updated at), as the codes now stand
    (one upsert)."""
    rows = []
    for person_id, color, reasons, version, updated_at in codes:
        v = code_view.view(person_id=person_id, color=color, reasons=reasons, version=version, updated_at=updated_at)
        rows.append({"person_id": v.person_id, "color": v.color, "reasons": v.reasons, "until": v.until,
                     "version": v.version, "updated_at": v.updated_at, "doc": v.doc})
    await bulk.insert_rows(session, HealthCode, rows, conflict=["person_id"],
                           update_columns=["color", "reasons", "until", "version", "updated_at", "doc"])


async def start_code(*, session: AsyncSession, person: Person, now: datetime) -> None:
    """A newly registered person's code (added to ``session``, not yet flushed): green, no reasons, version 0;
    the evaluation that follows in the same transaction may change it."""
    person.health_color, person.health_reasons, person.health_updated_at, person.health_version = "green", [], now, 0
    await session.flush()
    await _store_views(session, [(person.id, person.health_color, person.health_reasons, person.health_version,
                                  person.health_updated_at)])


async def refresh_codes(*, session: AsyncSession, person_ids: list[uuid.UUID], today: date, policy: Policy) -> None:
    """Derive these people's codes; where one changed, write it (person row and read model, one statement each
    for all of them) and announce a change of colour. Set-based: no ORM object per person; a ``Person`` the
    session holds takes the new code as it is written."""
    if not person_ids:
        return
    people = (await session.execute(
        select(Person.id, Person.region_code, Person.is_case, Person.positive_at, Person.pool_positive_due_by,
               Person.overdue_since, Person.fever_celsius, Person.health_color, Person.health_reasons, Person.health_version)
        .where(Person.id.in_(person_ids))
    )).all()
    active: dict[uuid.UUID, list[healthcode.ActiveMeasure]] = {}
    # The people's measures by their index, the ones in force sorted out here (with those conditions in the query,
    # PostgreSQL may walk an index of every measure by status or date instead, growing with each chunk of a turn).
    rows = await session.execute(
        select(Measure.person_id, Measure.kind, Measure.rule, Measure.starts_on, Measure.ends_on, Measure.status,
               Measure.release_blocked).where(Measure.person_id.in_(person_ids))
    )
    for person_id, kind, rule, starts_on, ends_on, status, release_blocked in rows:
        # Not released, begun, and not past its end (a blocked release keeps it in force past its end).
        if status != "released" and starts_on <= today and (ends_on >= today or release_blocked is not None):
            active.setdefault(person_id, []).append(healthcode.ActiveMeasure(kind, rule, ends_on))
    titles = _titles(policy)
    changed: list[tuple] = []  # (person id, colour, reasons, version, updated at)
    staged: list[tuple[registry.HealthCodeChanged, uuid.UUID]] = []  # written in one statement
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
        previous, version = person.health_color, person.health_version
        if previous is not None and color != previous:
            version += 1  # older health-code passes are superseded
            staged.append((
                registry.HealthCodeChanged(
                    person_id=person.id,
                    region_code=person.region_code,
                    color=color,
                    previous=previous,
                    reasons=[registry.Reason(rule=r.rule, detail=r.detail, until=r.until) for r in reasons],
                ),
                person.id,
            ))
        changed.append((person.id, color, as_json, version, utcnow()))
    if changed:
        await bulk.update_rows(session, Person, "id", [
            {"id": pid, "health_color": color, "health_reasons": reasons, "health_version": version, "health_updated_at": at}
            for pid, color, reasons, version, at in changed
        ])
        sync_loaded(session, Person, (
            (pid, {"health_color": color, "health_reasons": reasons, "health_version": version, "health_updated_at": at})
            for pid, color, reasons, version, at in changed
        ))
    await outbox.add_many(session, staged)
    await _store_views(session, changed)
