"""Recording samples, one or a chunk of a batch: barcodes unique, pools bounded, events staged."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cordon import pii
from cordon.auth import Principal
from cordon.batches import Tally
from cordon.bus import outbox
from cordon.contracts.testing import SampleCollected
from cordon.db import dialect_insert, slices
from cordon.errors import Conflict, DomainError, Unprocessable
from cordon.pii import Vault
from cordon.policy import replica
from services.testing.domain import samples as rules
from services.testing.models import PersonRef, Sample, TestResult, Tube
from services.testing.schemas import SampleCreate
from services.testing.service import schedules

# The HTTP answer for each refusal when a single sample is posted.
REFUSALS: dict[str, type[DomainError]] = {
    "id_number_invalid": Unprocessable,
    "collected_at_in_future": Unprocessable,
    "pool_too_large": Unprocessable,
    "barcode_conflict": Conflict,
    "tube_already_tested": Conflict,
}


@dataclass
class Recorded:
    tally: Tally = field(default_factory=Tally)
    barcodes: dict[int, str] = field(default_factory=dict)  # line -> barcode of the accepted or repeated sample


def _facts(data: SampleCreate, index: str) -> rules.SampleFacts:
    return rules.SampleFacts(data.barcode, index, data.collected_at, data.site, data.tube_id)


async def record_samples(
    *, session: AsyncSession, vault: Vault, principal: Principal, lines: list[tuple[int, SampleCreate]], now: datetime
) -> Recorded:
    """Admit each line (new, repeated, or refused with a code), store the new ones, commit."""
    out = Recorded()
    policy = await replica.current(session)
    valid: list[tuple[int, SampleCreate, rules.SampleFacts]] = []
    for number, data in lines:
        if not pii.is_valid_id_number(data.id_number):
            out.tally.reject(number, "id_number_invalid", "id_number fails the GB 11643 check")
            continue
        valid.append((number, data, _facts(data, vault.index("id_number", data.id_number))))
    if not valid:
        return out
    barcodes = {f.barcode for _, _, f in valid}
    tubes = {f.tube_id for _, _, f in valid if f.tube_id}
    existing = await _existing(session, barcodes)
    members, tested = await _tubes(session, tubes)
    decisions = rules.admit(
        [f for _, _, f in valid], existing=existing, tube_members=members, tested_tubes=tested,
        pool_max=policy.testing.pool_max, now=now,
    )
    accepted: list[tuple[int, SampleCreate, rules.SampleFacts]] = []
    for (number, data, facts), decision in zip(valid, decisions):
        if decision.verdict == "accept":
            accepted.append((number, data, facts))
        elif decision.verdict == "duplicate":
            out.tally.duplicates += 1
            out.barcodes[number] = facts.barcode
        else:
            out.tally.reject(number, decision.code, decision.message)
    if accepted:
        await _store(session, principal, accepted, out, policy.testing.pool_max, now)
    await session.commit()
    return out


async def _existing(session: AsyncSession, barcodes: set[str]) -> dict[str, rules.SampleFacts]:
    found = {}
    for part in slices(barcodes):
        rows = await session.execute(
            select(Sample.barcode, Sample.id_number_index, Sample.collected_at, Sample.site, Sample.tube_id).where(
                Sample.barcode.in_(part)
            )
        )
        found.update({r.barcode: rules.SampleFacts(*r) for r in rows})
    return found


async def _tubes(session: AsyncSession, tubes: set[str]) -> tuple[dict[str, int], set[str]]:
    members, tested = {}, set()
    for part in slices(tubes):
        rows = await session.execute(select(Tube.tube_id, Tube.member_count).where(Tube.tube_id.in_(part)))
        members.update(dict(rows.all()))
        done = await session.execute(
            select(TestResult.target).where(TestResult.target_kind == "tube", TestResult.target.in_(part))
        )
        tested.update(done.scalars())
    return members, tested


async def _store(session, principal, accepted, out: Recorded, pool_max: int, now: datetime) -> None:
    people = await _people(session, {f.id_number_index for _, _, f in accepted})
    rows = {}
    for number, data, facts in accepted:
        rows[facts.barcode] = (number, {
            "id": uuid.uuid4(),
            "barcode": facts.barcode,
            "id_number_index": facts.id_number_index,
            "id_number_masked": pii.mask_id_number(data.id_number),
            "person_id": people.get(facts.id_number_index),
            "collected_at": facts.collected_at,
            "site": facts.site,
            "tube_id": facts.tube_id,
            "status": "pending",
            "created_at": now,
            "created_by": principal.username or principal.subject,
        })
    new_tubes = {f.tube_id for _, _, f in accepted if f.tube_id}
    for part in slices(new_tubes):
        values = [{"tube_id": t, "member_count": 0, "created_at": now} for t in part]
        await session.execute(dialect_insert(session, Tube).values(values).on_conflict_do_nothing(index_elements=["tube_id"]))
    inserted: set[str] = set()
    for part in slices(list(rows.values())):
        statement = dialect_insert(session, Sample).values([row for _, row in part]).on_conflict_do_nothing(index_elements=["barcode"])
        inserted.update((await session.execute(statement.returning(Sample.barcode))).scalars())
    # A concurrent request took some barcodes between our read and our insert: judge them again.
    raced = {b: rows[b] for b in rows if b not in inserted}
    if raced:
        now_existing = await _existing(session, set(raced))
        for barcode, (number, row) in raced.items():
            mine = rules.SampleFacts(barcode, row["id_number_index"], row["collected_at"], row["site"], row["tube_id"])
            if now_existing.get(barcode) == mine:
                out.tally.duplicates += 1
                out.barcodes[number] = barcode
            else:
                out.tally.reject(number, "barcode_conflict", f"barcode {barcode} belongs to another sample")
    # The pool limit's guard: an atomic conditional increment, safe against concurrent writers.
    by_tube: dict[str, list[str]] = {}
    for barcode in inserted:
        if tube := rows[barcode][1]["tube_id"]:
            by_tube.setdefault(tube, []).append(barcode)
    for tube, members in by_tube.items():
        grown = await session.execute(
            update(Tube)
            .where(Tube.tube_id == tube, Tube.member_count + len(members) <= pool_max)
            .values(member_count=Tube.member_count + len(members))
        )
        if grown.rowcount == 0:
            await session.execute(delete(Sample).where(Sample.barcode.in_(members)))
            inserted.difference_update(members)
            for barcode in members:
                out.tally.reject(rows[barcode][0], "pool_too_large", f"tube {tube} would exceed {pool_max} samples")
    stored = [rows[b] for b in rows if b in inserted]
    out.tally.accepted += len(stored)
    out.barcodes.update({number: row["barcode"] for number, row in stored})
    await outbox.add_many(
        session,
        [
            (
                SampleCollected(
                    sample_id=row["id"], barcode=row["barcode"], person_id=row["person_id"],
                    id_number_index=row["id_number_index"], collected_at=row["collected_at"],
                    site=row["site"], tube_id=row["tube_id"],
                ),
                row["id"],
            )
            for _, row in stored
        ],
    )
    linked = {row["person_id"] for _, row in stored if row["person_id"]}
    if linked:
        await schedules.fulfil(session=session, person_ids=linked, now=now)


async def _people(session: AsyncSession, indexes: set[str]) -> dict[str, uuid.UUID]:
    found = {}
    for part in slices(indexes):
        rows = await session.execute(
            select(PersonRef.id_number_index, PersonRef.person_id).where(PersonRef.id_number_index.in_(part))
        )
        found.update(dict(rows.all()))
    return found


async def record_sample(
    *, session: AsyncSession, vault: Vault, principal: Principal, data: SampleCreate, now: datetime
) -> tuple[Sample, bool]:
    """One sample: (the sample, whether it is new). A refusal raises its DomainError."""
    recorded = await record_samples(session=session, vault=vault, principal=principal, lines=[(1, data)], now=now)
    if recorded.tally.rejected:
        refusal = recorded.tally.rejected[0]
        raise REFUSALS[refusal["code"]](refusal["message"], code=refusal["code"])
    sample = (await session.execute(select(Sample).where(Sample.barcode == recorded.barcodes[1]))).scalar_one()
    return sample, recorded.tally.accepted == 1
