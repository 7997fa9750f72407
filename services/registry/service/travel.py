"""Travel records: partners' bulk pushes (streamed, chunked, idempotent) and residents' declarations.

A push is read line by line and written in chunks, each its own transaction, so
good lines are kept whatever comes after them and memory stays flat; one chunk is
written while the next is parsed. On PostgreSQL a chunk goes through COPY into a
staging table and one set-based INSERT ... ON CONFLICT DO NOTHING that matches each
record to its person as it inserts; elsewhere through a multi-row insert and an UPDATE.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import AsyncIterator

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cordon import regions
from cordon.auth import Principal
from cordon import batches
from cordon.batches import Tally
from cordon.clock import local_date
from cordon.db import dialect_insert, is_postgres
from cordon.errors import RegionInvalid, Unprocessable
from cordon.pii import Vault
from services.registry.domain import travel_lines
from services.registry.models import Person, TravelRecord
from services.registry.service import audit, evaluation, people, policies

CHUNK = 5000
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
# The staged rows go in with their person already matched (by ID number, else by phone); known
# (partner, record_id) are skipped. The answer, per (person, region): rows inserted, and whether one is recent.
_INSERT_MATCHED = (
    "WITH ins AS ("
    " INSERT INTO travel_record (partner_id, record_id, phone_index, id_number_index, person_id,"
    " region_code, first_seen, last_seen, created_at)"
    " SELECT s.partner_id, s.record_id, s.phone_index, s.id_number_index,"
    " COALESCE((SELECT p.id FROM person p WHERE p.id_number_index = s.id_number_index LIMIT 1),"
    " (SELECT p.id FROM person p WHERE p.phone_index = s.phone_index LIMIT 1)),"
    " s.region_code, s.first_seen, s.last_seen, s.created_at"
    " FROM travel_stage s"
    " ON CONFLICT (partner_id, record_id) DO NOTHING"
    " RETURNING person_id, region_code, last_seen)"
    " SELECT person_id, region_code, count(*) AS n, bool_or(last_seen >= $1) AS recent"
    " FROM ins GROUP BY person_id, region_code"
)


async def _insert_matched(session: AsyncSession, rows: list[tuple], window_start: date) -> tuple[int, list[tuple]]:
    """PostgreSQL: COPY into the staging table, then one INSERT ... SELECT that matches people as it inserts.

    The number inserted, and (person id, region) of the matched new records seen inside the window.
    """
    # Through SQLAlchemy, so that its transaction begins: raw asyncpg statements alone run in autocommit,
    # and the staged rows would vanish (ON COMMIT DELETE ROWS) before the INSERT reads them.
    await session.execute(text(_STAGE))
    pg = (await (await session.connection()).get_raw_connection()).driver_connection
    await pg.copy_records_to_table("travel_stage", records=rows, columns=COLUMNS)
    groups = await pg.fetch(_INSERT_MATCHED, window_start)
    inserted = sum(g["n"] for g in groups)
    return inserted, [(g["person_id"], g["region_code"]) for g in groups if g["person_id"] is not None and g["recent"]]


async def _insert(session: AsyncSession, rows: list[tuple]) -> int:
    """SQLite: insert new rows, skip known (partner, record_id); the number inserted."""
    stmt = dialect_insert(session, TravelRecord).on_conflict_do_nothing(index_elements=["partner_id", "record_id"])
    result = await session.execute(stmt, [dict(zip(COLUMNS, r)) for r in rows])
    return result.rowcount


async def _match_people(session: AsyncSession, since_seq: int) -> None:
    """SQLite, set-based: new records whose person is registered get their person id."""
    for column, key in ((TravelRecord.id_number_index, Person.id_number_index), (TravelRecord.phone_index, Person.phone_index)):
        person = select(Person.id).where(key == column).limit(1).scalar_subquery()
        await session.execute(
            update(TravelRecord)
            .where(TravelRecord.seq > since_seq, TravelRecord.person_id.is_(None), column.is_not(None))
            .values(person_id=person)
            .execution_options(synchronize_session=False)
        )


async def _affected(session: AsyncSession, since_seq: int, window_start: date, risk: dict[str, str]) -> set[uuid.UUID]:
    """People among the new records whose travel touches the risk list (or a city holding a risk area)."""
    if not risk:
        return set()
    rows = await session.execute(
        select(TravelRecord.person_id, TravelRecord.region_code).distinct().where(
            TravelRecord.seq > since_seq, TravelRecord.person_id.is_not(None), TravelRecord.last_seen >= window_start
        )
    )
    return {pid for pid, region in rows if touches_risk(region, risk)}


def touches_risk(region: str, risk: dict[str, str]) -> bool:
    """Whether a record may fall under a travel rule: inside an area, holding one, or in the same city (the
    county and city rules); the engine decides which."""
    return any(regions.contains(regions.city(area) or area, region) or regions.contains(region, area) for area in risk)


async def ingest(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    vault: Vault,
    principal: Principal,
    lines: AsyncIterator[tuple[int, object]],
    now: datetime,
) -> Tally:
    affected: set[uuid.UUID] = set()
    today = local_date(now)
    async with sessionmaker() as session:
        policy = await policies.current(session)
        risk = await evaluation.risk_list(session, now)
        await session.commit()
    window_start = today - timedelta(days=policy.travel_window_days)

    def parse(raw: object) -> tuple:
        return _row(vault, principal.subject, travel_lines.parse(raw, today=today, horizon_days=policy.travel_window_days), now)

    async def write(chunk: list[tuple[int, tuple]]) -> Tally:
        rows = [row for _, row in chunk]
        async with sessionmaker() as session:
            if is_postgres(session):
                inserted, touched = await _insert_matched(session, rows, window_start)
                affected.update(pid for pid, region in touched if touches_risk(region, risk))
            else:
                since = (await session.execute(select(TravelRecord.seq).order_by(TravelRecord.seq.desc()).limit(1))).scalar() or 0
                inserted = await _insert(session, rows)
                await _match_people(session, since)
                affected.update(await _affected(session, since, window_start, risk))
            await session.commit()
        return Tally(accepted=inserted, duplicates=len(rows) - inserted)

    result = await batches.ingest(lines, parse=parse, record=write, chunk=CHUNK)
    async with sessionmaker() as session:
        audit.record(session, principal, action="push", entity="travel_batch", entity_id=f"{result.accepted}+{result.duplicates}")
        await session.commit()
    if affected:
        async with sessionmaker() as session:
            await evaluation.evaluate(session, affected, now=now, today=today, policy=policy)
            await session.commit()
    return result


async def declare(*, session: AsyncSession, principal: Principal, data, now: datetime) -> TravelRecord:
    """A resident declares where they were (主动申报); kept even before they are registered."""
    if not regions.is_region_code(data.region_code):
        raise RegionInvalid("region_code must be a region code of 6, 9, 12 or 15 digits.")
    if data.last_seen < data.first_seen:
        raise Unprocessable("last_seen is before first_seen.", code="dates_reversed")
    policy = await policies.current(session)
    try:
        travel_lines.check_window(data.last_seen, local_date(now), policy.travel_window_days)
    except batches.LineError as exc:
        raise Unprocessable(str(exc), code=exc.code, errors=[{"field": "last_seen", "message": str(exc)}]) from None
    person = await people.find_own(session, principal)
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
    )
    session.add(record)
    await session.flush()
    audit.record(session, principal, action="declare", entity="travel_record", entity_id=record.seq)
    if person is not None:
        await evaluation.evaluate(session, [person.id], now=now, today=local_date(now), policy=policy)
    await session.commit()
    return record
