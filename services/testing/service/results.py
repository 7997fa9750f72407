"""Recording lab results per tube or per barcode: each person's outcome, the audit of corrections,
the proof summaries, and one testing.result.recorded per person."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cordon.auth import Principal
from cordon.batches import Tally
from cordon.bus import outbox
from cordon.contracts.testing import ResultRecorded
from cordon.db import dialect_insert, slices
from cordon.errors import Conflict, DomainError, NotFound, Unprocessable
from cordon.policy import replica
from services.testing.domain import outcomes
from services.testing.domain.samples import CLOCK_SKEW
from services.testing.models import PersonRef, ResultCorrection, Sample, TestResult
from services.testing.schemas import ResultCreate
from services.testing.service import proofs

REFUSALS: dict[str, type[DomainError]] = {
    "sample_not_found": NotFound,
    "tested_before_collected": Unprocessable,
    "result_conflict": Conflict,
}

Target = tuple[str, str]  # ("tube", tube_id) or ("barcode", barcode)


@dataclass
class Recorded:
    tally: Tally = field(default_factory=Tally)
    targets: dict[int, Target] = field(default_factory=dict)  # line -> target of an applied or repeated result


@dataclass(frozen=True)
class Member:
    id: object
    barcode: str
    tube_id: str | None
    id_number_index: str
    person_id: object
    collected_at: datetime


async def record_results(
    *, session: AsyncSession, principal: Principal, lines: list[tuple[int, ResultCreate]], now: datetime
) -> Recorded:
    """Judge each line (new, repeated, conflicting, a correction), apply the new ones, commit."""
    for attempt in range(3):
        try:
            return await _record(session, principal, lines, now)
        except IntegrityError:
            # Another lab's post of the same target committed between our read and our insert:
            # read again, and this post becomes a repeat or a conflict.
            await session.rollback()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def _record(session: AsyncSession, principal: Principal, lines, now: datetime) -> Recorded:
    out = Recorded()
    policy = await replica.current(session)
    targets = {data.target for _, data in lines}
    previous = await _results(session, targets)
    members = await _members(session, targets)
    applied: list[tuple[ResultCreate, str | None]] = []  # (result, the result it corrects)
    for number, data in lines:
        target = data.target
        group = members.get(target)
        if not group:
            out.tally.reject(number, "sample_not_found", f"no sample has {target[0]} {target[1]}")
            continue
        if data.tested_at < max(m.collected_at for m in group) - CLOCK_SKEW:
            out.tally.reject(number, "tested_before_collected", "tested_at is before the sample was collected")
            continue
        verdict = outcomes.judge(data.result, previous=previous.get(target), correction=data.correction)
        if verdict == "conflict":
            out.tally.reject(
                number, "result_conflict",
                f"{target[0]} {target[1]} already has the result {previous[target]}; send a correction with a reason",
            )
            continue
        out.targets[number] = target
        if verdict == "duplicate":
            out.tally.duplicates += 1
            continue
        applied.append((data, previous.get(target)))
        previous[target] = data.result
        out.tally.accepted += 1
    if applied:
        await _store(session, principal, applied, now)
        await _apply(session, applied, members, policy.testing.retest_within_hours, now)
    await session.commit()
    return out


def _where_targets(targets: set[Target], kind_col, target_col, *, sample: bool = False):
    tubes = [t for kind, t in targets if kind == "tube"]
    codes = [t for kind, t in targets if kind == "barcode"]
    if sample:
        return or_(Sample.tube_id.in_(tubes), Sample.barcode.in_(codes))
    return or_(and_(kind_col == "tube", target_col.in_(tubes)), and_(kind_col == "barcode", target_col.in_(codes)))


async def _results(session: AsyncSession, targets: set[Target]) -> dict[Target, str]:
    found = {}
    for part in slices(targets):
        rows = await session.execute(
            select(TestResult.target_kind, TestResult.target, TestResult.result).where(
                _where_targets(set(part), TestResult.target_kind, TestResult.target)
            )
        )
        found.update({(r.target_kind, r.target): r.result for r in rows})
    return found


async def _members(session: AsyncSession, targets: set[Target]) -> dict[Target, list[Member]]:
    groups: dict[Target, list[Member]] = {}
    for part in slices(targets):
        rows = await session.execute(
            select(Sample.id, Sample.barcode, Sample.tube_id, Sample.id_number_index, Sample.person_id, Sample.collected_at)
            .where(_where_targets(set(part), None, None, sample=True))
        )
        for row in rows:
            member = Member(*row)
            if ("barcode", member.barcode) in targets:
                groups.setdefault(("barcode", member.barcode), []).append(member)
            if member.tube_id is not None and ("tube", member.tube_id) in targets:
                groups.setdefault(("tube", member.tube_id), []).append(member)
    return groups


async def _store(session: AsyncSession, principal: Principal, applied, now: datetime) -> None:
    actor = principal.username or principal.subject
    fresh = {}
    for data, corrected in applied:
        kind, target = data.target
        values = {"result": data.result, "tested_at": data.tested_at, "lab": data.lab}
        if corrected is None:
            fresh[data.target] = {"target_kind": kind, "target": target, **values, "recorded_at": now, "recorded_by": actor}
            continue
        await session.execute(
            update(TestResult)
            .where(TestResult.target_kind == kind, TestResult.target == target)
            .values(**values, corrected_at=now)
        )
        session.add(ResultCorrection(
            target_kind=kind, target=target, previous_result=corrected, result=data.result, reason=data.reason,
            tested_at=data.tested_at, lab=data.lab, corrected_at=now, corrected_by=actor,
        ))
    for part in slices(list(fresh.values())):
        # A concurrent post of the same target: the unique key refuses the second; it rolls back whole.
        await session.execute(dialect_insert(session, TestResult).values(part))
    await session.flush()


async def _apply(session: AsyncSession, applied, members: dict[Target, list[Member]], retest_hours: int, now) -> None:
    changes, events = [], []
    regions = await _regions(session, {m.id_number_index for data, _ in applied for m in members[data.target]})
    for data, corrected in applied:
        group = members[data.target]
        outcome = outcomes.member_outcome(data.result, len(group))
        due_by = outcomes.retest_due_by(outcome, data.tested_at, retest_hours)
        for m in group:
            changes.append({"id": m.id, "status": outcome, "tested_at": data.tested_at, "lab": data.lab, "retest_due_by": due_by})
            known = regions.get(m.id_number_index)
            events.append((
                ResultRecorded(
                    sample_id=m.id, barcode=m.barcode, tube_id=m.tube_id,
                    person_id=m.person_id or (known[0] if known else None), id_number_index=m.id_number_index,
                    region_code=known[1] if known else None, outcome=outcome, collected_at=m.collected_at,
                    tested_at=data.tested_at, lab=data.lab, retest_due_by=due_by,
                    correction=corrected is not None, correction_reason=data.reason if corrected is not None else None,
                ),
                m.id,
            ))
    for part in slices(changes, 2000):
        await session.execute(update(Sample), part)
    await outbox.add_many(session, events)
    await proofs.refresh(session=session, indexes={m.id_number_index for data, _ in applied for m in members[data.target]}, now=now)


async def _regions(session: AsyncSession, indexes: set[str]) -> dict[str, tuple]:
    found = {}
    for part in slices(indexes):
        rows = await session.execute(
            select(PersonRef.id_number_index, PersonRef.person_id, PersonRef.region_code).where(
                PersonRef.id_number_index.in_(part)
            )
        )
        found.update({r.id_number_index: (r.person_id, r.region_code) for r in rows})
    return found


async def record_result(*, session: AsyncSession, principal: Principal, data: ResultCreate, now: datetime) -> tuple[dict, bool]:
    """One result: (its answer, whether it changed anything). A refusal raises its DomainError."""
    recorded = await record_results(session=session, principal=principal, lines=[(1, data)], now=now)
    if recorded.tally.rejected:
        refusal = recorded.tally.rejected[0]
        raise REFUSALS[refusal["code"]](refusal["message"], code=refusal["code"])
    return await read_result(session=session, target=data.target), recorded.tally.accepted == 1


async def read_result(*, session: AsyncSession, target: Target) -> dict:
    kind, key = target
    result = (
        await session.execute(select(TestResult).where(TestResult.target_kind == kind, TestResult.target == key))
    ).scalar_one()
    column = Sample.tube_id if kind == "tube" else Sample.barcode
    samples = (await session.execute(select(Sample).where(column == key).order_by(Sample.barcode))).scalars().all()
    return {
        "target_kind": kind, "target": key, "result": result.result, "tested_at": result.tested_at, "lab": result.lab,
        "corrected": result.corrected_at is not None, "samples": samples,
    }
