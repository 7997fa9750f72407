"""Travel records: partners' bulk pushes (streamed, chunked, idempotent) and residents' declarations.

A push is read line by line and written in chunks, each its own transaction, so
good lines are kept whatever comes after them and memory stays flat; one chunk is
written while the next is parsed. On PostgreSQL a chunk goes through COPY into a
staging table and one set-based INSERT ... ON CONFLICT DO NOTHING that matches each
record to its person as it inserts; elsewhere through a multi-row insert and an UPDATE.

Each record carries its evaluation mark, written in its own transaction: ``evaluated_at`` is None while
its person still has to be evaluated against it (matched, inside the travel window). After the last
chunk the push evaluates every record of the partner still pending (what it inserted, and what an
earlier push cut short by a crash left behind), the marks set in the evaluation's transaction; the
clockwork sweeps whatever is pending after that (``evaluate_pending``).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cordon import batches, pii, regions
from cordon.auth import Principal
from cordon.batches import Tally
from cordon.clock import local_date
from cordon.db import Statistics, dialect_insert, is_postgres, skip_locked
from cordon.errors import RegionInvalid, Unprocessable
from cordon.pii import Vault
from services.registry.domain import leads as lead_rules
from services.registry.domain import travel_lines
from services.registry.domain.risk import touches_risk
from services.registry.models import Person, TravelRecord
from services.registry.service import audit, evaluation, leads, people, policies

CHUNK = 5000
PENDING_BATCH = 5000  # pending records settled per transaction
COLUMNS = ("partner_id", "record_id", "phone_index", "id_number_index", "region_code", "first_seen", "last_seen", "created_at")


def _row(vault: Vault, partner_id: str, line: travel_lines.TravelLine, now: datetime) -> tuple:
    return (
        partner_id,
        line.record_id,
        vault.index("phone", line.phone) if line.phone else None,
        vault.index("id_number", line.id_number) if line.id_number else None,
        line.region_code,
        line.first_seen,
        line.last_seen,
        now,
    )


_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS travel_stage (partner_id varchar(64), record_id varchar(128),"
    " phone_index varchar(64), id_number_index varchar(64), region_code varchar(15), first_seen date,"
    " last_seen date, created_at timestamptz) ON COMMIT DELETE ROWS"
)
# The staged rows go in with their person already matched (by ID number, else by phone) and their evaluation
# mark (pending when matched inside the window); known (partner, record_id) are skipped. The answer: rows inserted.
_INSERT_MATCHED = (
    "WITH ins AS ("
    " INSERT INTO travel_record (partner_id, record_id, phone_index, id_number_index, person_id,"
    " region_code, first_seen, last_seen, created_at, evaluated_at)"
    " SELECT m.partner_id, m.record_id, m.phone_index, m.id_number_index, m.person_id,"
    " m.region_code, m.first_seen, m.last_seen, m.created_at,"
    " CASE WHEN m.person_id IS NULL OR m.last_seen < $1 THEN m.created_at END"
    " FROM (SELECT s.*,"
    " COALESCE((SELECT p.id FROM person p WHERE p.id_number_index = s.id_number_index LIMIT 1),"
    " (SELECT p.id FROM person p WHERE p.phone_index = s.phone_index LIMIT 1)) AS person_id"
    " FROM travel_stage s) m"
    " ON CONFLICT (partner_id, record_id) DO NOTHING"
    " RETURNING record_id, person_id)"
    " SELECT count(*), array_agg(record_id) FILTER (WHERE person_id IS NULL) FROM ins"
)


async def _insert_matched(session: AsyncSession, rows: list[tuple], window_start: date) -> tuple[int, list[str]]:
    """PostgreSQL: COPY into the staging table, then one INSERT ... SELECT that matches people as it inserts.

    The number inserted, and the record ids of those inserted that match nobody.
    """
    # Through SQLAlchemy, so that its transaction begins: raw asyncpg statements alone run in autocommit,
    # and the staged rows would vanish (ON COMMIT DELETE ROWS) before the INSERT reads them.
    await session.execute(text(_STAGE))
    pg = (await (await session.connection()).get_raw_connection()).driver_connection
    await pg.copy_records_to_table("travel_stage", records=rows, columns=COLUMNS)
    inserted, unmatched = await pg.fetchrow(_INSERT_MATCHED, window_start)
    return inserted, unmatched or []


async def _insert(session: AsyncSession, rows: list[tuple]) -> int:
    """SQLite: insert new rows, skip known (partner, record_id); the number inserted."""
    stmt = dialect_insert(session, TravelRecord).on_conflict_do_nothing(index_elements=["partner_id", "record_id"])
    result = await session.execute(stmt, [dict(zip(COLUMNS, r)) for r in rows])
    return result.rowcount


async def _unmatched_since(session: AsyncSession, since_seq: int, partner_id: str) -> list[str]:
    """SQLite: the record ids this chunk inserted that match nobody."""
    return list((await session.execute(
        select(TravelRecord.record_id).where(TravelRecord.seq > since_seq, TravelRecord.partner_id == partner_id,
                                             TravelRecord.person_id.is_(None))
    )).scalars())


async def _open_leads(
    session: AsyncSession, vault: Vault, principal: Principal, chunk: list, unmatched: set[str], now: datetime, policy
) -> None:
    """The chunk's new records that match nobody and would trigger a rule open leads (大数据推送排查) where the
    person is now, else in the partner's place, else for admins; in the chunk's transaction."""
    risk = await evaluation.risk_list(session=session, now=now)
    if not risk:
        return
    today, partner_place = local_date(now), lead_rules.common_place(principal.regions)
    reasons_of: dict[tuple, list[dict]] = {}  # one rule evaluation per (place, days), however many records share it
    candidates = []
    for _, (row, line) in chunk:
        if line.record_id not in unmatched:
            continue
        unmatched.discard(line.record_id)  # a record id twice in the chunk: only its first copy was inserted
        trip = (line.region_code, line.first_seen, line.last_seen)
        reasons = reasons_of.get(trip)
        if reasons is None:
            reasons = reasons_of[trip] = [r.as_dict() for r in lead_rules.travel_reasons(*trip, risk, policy, today)]
        if not reasons:
            continue
        id_number = pii.normalize_id_number(line.id_number) if line.id_number else None
        phone = pii.normalize_phone(line.phone) if line.phone else None
        candidates.append(leads.Candidate(
            id_number=id_number, phone=phone, id_number_index=row[3], phone_index=row[2],
            region_code=line.current_region_code or partner_place, reasons=reasons, source="travel_record",
        ))
    await leads.open_leads(session=session, vault=vault, candidates=candidates, now=now, policy=policy)


async def _match_people(session: AsyncSession, since_seq: int, window_start: date) -> None:
    """SQLite, set-based: new records whose person is registered get their person id; the others, and those
    outside the window, have nothing to evaluate (a registration claims and evaluates the unmatched)."""
    for column, key in ((TravelRecord.id_number_index, Person.id_number_index), (TravelRecord.phone_index, Person.phone_index)):
        person = select(Person.id).where(key == column).limit(1).scalar_subquery()
        await session.execute(
            update(TravelRecord)
            .where(TravelRecord.seq > since_seq, TravelRecord.person_id.is_(None), column.is_not(None))
            .values(person_id=person)
            .execution_options(synchronize_session=False)
        )
    await session.execute(
        update(TravelRecord)
        .where(TravelRecord.seq > since_seq, TravelRecord.evaluated_at.is_(None),
               or_(TravelRecord.person_id.is_(None), TravelRecord.last_seen < window_start))
        .values(evaluated_at=TravelRecord.created_at)
        .execution_options(synchronize_session=False)
    )


async def _claim_pending(session: AsyncSession, *, partner_id: str | None, now: datetime, limit: int) -> list:
    """Mark up to ``limit`` pending records evaluated (the caller evaluates their people in this transaction);
    (person id, region, last day) of each. On PostgreSQL rows another transaction holds are skipped, so
    replicas and concurrent pushes share the work without waiting on each other."""
    pick = select(TravelRecord.seq).where(TravelRecord.evaluated_at.is_(None))
    if partner_id is not None:
        pick = pick.where(TravelRecord.partner_id == partner_id)
    pick = skip_locked(session, pick.order_by(TravelRecord.seq).limit(limit))
    claimed = await session.execute(
        update(TravelRecord)
        .where(TravelRecord.seq.in_(pick))
        .values(evaluated_at=now)
        .returning(TravelRecord.person_id, TravelRecord.region_code, TravelRecord.last_seen)
        .execution_options(synchronize_session=False)
    )
    return claimed.all()


async def evaluate_pending(
    *, sessionmaker: async_sessionmaker[AsyncSession], now: datetime, partner_id: str | None = None, batch: int = PENDING_BATCH
) -> int:
    """Evaluate the people of pending travel records (of one partner, or all), a batch a transaction that holds
    both the evaluation and the marks: a crash leaves a batch pending, never marked and unevaluated.

    Set-based: only people whose recent records touch the risk list are evaluated. The number of records settled.
    """
    today = local_date(now)
    settled = 0
    while True:
        async with sessionmaker() as session:
            claimed = await _claim_pending(session, partner_id=partner_id, now=now, limit=batch)
            if claimed:
                policy = await policies.current(session=session)
                risk = await evaluation.risk_list(session=session, now=now)
                window_start = today - timedelta(days=policy.travel_window_days)
                affected = {
                    pid for pid, region, last in claimed
                    if pid is not None and last >= window_start and touches_risk(region, risk)
                }
                if affected:
                    await evaluation.evaluate(session=session, person_ids=affected, now=now, today=today, policy=policy)
            await session.commit()
        settled += len(claimed)
        if len(claimed) < batch:
            return settled


async def ingest(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    vault: Vault,
    principal: Principal,
    lines: AsyncIterator[tuple[int, object]],
    now: datetime,
) -> Tally:
    today = local_date(now)
    async with sessionmaker() as session:
        policy = await policies.current(session=session)
        await session.commit()
    window_start = today - timedelta(days=policy.travel_window_days)

    def parse(raw: object) -> tuple:
        line = travel_lines.parse(raw, today=today, horizon_days=policy.travel_window_days)
        return _row(vault, principal.subject, line, now), line

    statistics = Statistics("travel_record", "lead")

    async def write(chunk: list[tuple[int, tuple]]) -> Tally:
        rows = [row for _, (row, _line) in chunk]
        async with sessionmaker() as session:
            if is_postgres(session):
                inserted, unmatched = await _insert_matched(session, rows, window_start)
            else:
                since = (await session.execute(select(TravelRecord.seq).order_by(TravelRecord.seq.desc()).limit(1))).scalar() or 0
                inserted = await _insert(session, rows)
                await _match_people(session, since, window_start)
                unmatched = await _unmatched_since(session, since, principal.subject)
            if unmatched:
                await _open_leads(session, vault, principal, chunk, set(unmatched), now, policy)
            await statistics.grew(session, inserted)
            await session.commit()
        return Tally(accepted=inserted, duplicates=len(rows) - inserted)

    result = await batches.ingest(lines, parse=parse, record=write, chunk=CHUNK)
    async with sessionmaker() as session:
        audit.record(session=session, principal=principal, action="push", entity="travel_batch", entity_id=f"{result.accepted}+{result.duplicates}")
        await session.commit()
    # What this push inserted, and whatever of this partner's is still pending (a retry after a crash).
    await evaluate_pending(sessionmaker=sessionmaker, now=now, partner_id=principal.subject)
    return result


async def declare(*, session: AsyncSession, principal: Principal, data, now: datetime) -> TravelRecord:
    """A resident declares where they were (主动申报); kept even before they are registered."""
    if not regions.is_region_code(data.region_code):
        raise RegionInvalid("region_code must be a region code of 6, 9, 12 or 15 digits.")
    if data.last_seen < data.first_seen:
        raise Unprocessable("last_seen is before first_seen.", code="dates_reversed")
    policy = await policies.current(session=session)
    try:
        travel_lines.check_window(data.last_seen, local_date(now), policy.travel_window_days)
    except batches.LineError as exc:
        raise Unprocessable(str(exc), code=exc.code, errors=[{"field": "last_seen", "message": str(exc)}]) from None
    person = await people.find_own(session=session, principal=principal)
    record = TravelRecord(
        partner_id=f"self:{principal.subject}"[:64],
        record_id=str(uuid.uuid4()),
        phone_index=principal.phone_index,
        id_number_index=person.id_number_index if person else None,
        person_id=person.id if person else None,
        region_code=data.region_code,
        first_seen=data.first_seen,
        last_seen=data.last_seen,
        created_at=now,
        evaluated_at=now,  # evaluated below, in this transaction (or, with no person yet, at registration)
    )
    session.add(record)
    await session.flush()
    audit.record(session=session, principal=principal, action="declare", entity="travel_record", entity_id=record.seq)
    if person is not None:
        await evaluation.evaluate(session=session, person_ids=[person.id], now=now, today=local_date(now), policy=policy)
    await session.commit()
    return record
