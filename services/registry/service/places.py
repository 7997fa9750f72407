"""The place tree the registry owns: read a place and its children, name one (PUT), import many.

An import is streamed and written in chunks, each its own transaction: a line is kept whole
or not at all, and a place is only ever written once its parent exists (in the database, or
earlier in the same file). Every created or renamed place is announced in
``registry.region.changed`` (up to a thousand places an event).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cordon import batches, paging, regions
from cordon.auth import Principal
from cordon.batches import LineError, Tally
from cordon.bus import outbox
from cordon.contracts import registry
from cordon.db import dialect_insert, is_postgres, slices
from cordon.errors import NotFound, RegionForbidden, RegionInvalid, RegionUnknownField, Unprocessable
from services.registry.domain import places as lines
from services.registry.models import Region
from services.registry.service import audit

CHUNK = 5000  # lines an import writes in one transaction
PER_EVENT = 1000  # places one registry.region.changed carries


class RegionUnknown(NotFound):
    code = "region_unknown"


class RegionParentUnknown(Unprocessable):
    code = "region_parent_unknown"


async def get_region(*, session: AsyncSession, code: str) -> Region:
    region = await session.get(Region, code) if regions.is_region_code(code) else None
    if region is None:
        raise RegionUnknown("No such place.")
    return region


async def children(*, session: AsyncSession, parent: str | None, limit: int, cursor: str | None) -> paging.Page[Region]:
    """The places directly inside ``parent`` (the provinces when it is None), by code."""
    if parent is not None:
        await get_region(session=session, code=parent)
    query = select(Region).where(Region.parent == parent if parent is not None else Region.parent.is_(None))
    return await paging.keyset(session, query, order=(Region.code,), limit=limit, cursor=cursor)


def check_region(principal: Principal, region_code: str) -> None:
    """422 unless ``region_code`` is a well-formed code, 403 unless it lies in the caller's regions."""
    if not regions.is_region_code(region_code):
        raise RegionInvalid("region_code must be a region code of 6, 9, 12 or 15 digits.", errors=[{"field": "region_code", "message": "invalid"}])
    if not principal.sees_region(region_code):
        raise RegionForbidden("The region is outside your regions.")


async def require_place(*, session: AsyncSession, code: str, field: str = "region_code") -> None:
    """422 unless ``code`` is a well-formed code of a place the tree holds."""
    if not regions.is_region_code(code):
        raise RegionInvalid("region_code must be a region code of 6, 9, 12 or 15 digits.", errors=[{"field": field, "message": "invalid"}])
    if await session.get(Region, code) is None:
        raise RegionUnknownField("No place has this code: name it first (PUT /regions/{code}).", errors=[{"field": field, "message": "unknown"}])


_NAMES = text("SELECT array_agg(code), array_agg(name) FROM region WHERE code = ANY(:codes)")


async def names(*, session: AsyncSession, codes: Iterable[str]) -> dict[str, str]:
    wanted = list(dict.fromkeys(codes))
    if is_postgres(session):
        # One array parameter (one prepared statement whatever the number of codes), and the answer as two arrays
        # in one row: a chunk of an import asks for thousands of codes, and a result row each cost more than the query.
        found, named = (await session.execute(_NAMES, {"codes": wanted})).one()
        return dict(zip(found, named)) if found else {}
    found: dict[str, str] = {}
    for part in slices(wanted):
        found.update((await session.execute(select(Region.code, Region.name).where(Region.code.in_(part)))).all())
    return found


def _place(code: str, name: str) -> dict:
    return {"code": code, "name": name, "level": regions.level(code), "parent": regions.parent(code)}


async def _announce(session: AsyncSession, changed: list[dict], by: str) -> None:
    """``registry.region.changed`` for these places (``_place`` dicts), a thousand places an event. The places are
    made here from codes and names the domain has checked, so the events go out in their JSON form without a
    model built and validated for each place (that was most of an import's time in the registry)."""
    await outbox.add_many_data(session, registry.RegionChanged, [
        ({"places": part, "by": by}, part[0]["code"]) for part in slices(changed, PER_EVENT)
    ])


def _may_name(principal: Principal, code: str) -> bool:
    """Admins name any place; an official a place inside one of theirs (not their own place itself)."""
    if principal.role == "admin":
        return True
    return principal.role == "official" and any(regions.contains(own, code) and own != code for own in principal.regions)


async def put_region(*, session: AsyncSession, principal: Principal, code: str, name: str, now: datetime) -> tuple[Region, bool]:
    """Create or rename one place; (the place, whether it is new)."""
    try:
        code, name = lines.checked_code(code), lines.checked_name(name)
    except LineError as exc:
        cls = RegionInvalid if exc.code == "region_code_invalid" else Unprocessable
        raise cls(str(exc), code=exc.code, errors=[{"field": "code" if cls is RegionInvalid else "name", "message": str(exc)}]) from None
    if not _may_name(principal, code):
        raise RegionForbidden("You may name places inside your own regions only.")
    parent = regions.parent(code)
    if parent is not None and await session.get(Region, parent) is None:
        raise RegionParentUnknown(f"The place {parent} that holds {code} is not known: name it first.")
    region = await session.get(Region, code)
    created = region is None
    if created:
        region = Region(code=code, name=name, level=regions.level(code), parent=parent)
        session.add(region)
    elif region.name == name:
        return region, False
    else:
        region.name = name
    by = principal.username or principal.subject
    audit.record(session=session, principal=principal, action="create" if created else "rename", entity="region", entity_id=code)
    await _announce(session, [_place(code, name)], by)
    await session.commit()
    return region, created


_UPSERT = text(
    "INSERT INTO region (code, name, level, parent)"
    " SELECT * FROM unnest(CAST(:codes AS varchar[]), CAST(:names AS varchar[]), CAST(:levels AS varchar[]), CAST(:parents AS varchar[]))"
    " ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name"
)


class _PlaceExists(Exception):
    """A place the chunk took for new exists already."""


async def _write(session: AsyncSession, rows: list[tuple[str, str, str, str | None]], known: dict[str, str], *, copy: bool) -> None:
    """Insert or rename these places (code, name, level, parent); ``known``: the places stored when the chunk began.

    On PostgreSQL with ``copy``, the places not known go straight into the table by COPY (the cheapest insert
    there is: an upsert costs the server about twice as much a row), the others by one upsert. Should one of
    them exist after all, the COPY fails whole and ``_PlaceExists`` is raised: the caller rolls the chunk back and
    writes it again without ``copy`` (every place by the upsert)."""
    if is_postgres(session):
        fresh = [r for r in rows if r[0] not in known] if copy else []
        if fresh:
            import asyncpg

            pg = (await (await session.connection()).get_raw_connection()).driver_connection
            if not pg.is_in_transaction():  # begun by the chunk's first statement; a COPY outside it would commit alone
                raise RuntimeError("the chunk's transaction has not begun")
            try:
                await pg.copy_records_to_table("region", records=fresh, columns=("code", "name", "level", "parent"))
            except asyncpg.UniqueViolationError:
                raise _PlaceExists from None
        if len(fresh) < len(rows):
            rest = [r for r in rows if r[0] in known] if fresh else rows
            # One set-based upsert, its columns sent as four arrays (one round trip).
            await session.execute(_UPSERT, {
                "codes": [r[0] for r in rest], "names": [r[1] for r in rest], "levels": [r[2] for r in rest], "parents": [r[3] for r in rest],
            })
        return
    stmt = dialect_insert(session, Region.__table__)
    stmt = stmt.on_conflict_do_update(index_elements=["code"], set_={"name": stmt.excluded.name})
    await session.execute(stmt, [dict(zip(("code", "name", "level", "parent"), r)) for r in rows])


async def import_regions(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    principal: Principal,
    lines_in: AsyncIterator[tuple[int, object]],
    csv: bool,
) -> Tally:
    """Places from a CSV (``code,name`` with a header line) or NDJSON body, streamed, in chunks."""
    by = principal.username or principal.subject
    header: tuple[int, int] | None = None
    if csv:  # the header line, read before the others go to ingest as they are (no generator of lines in between)
        first = await anext(aiter(lines_in), None)
        if first is not None:
            try:
                header = lines.csv_header(first[1])  # type: ignore[arg-type]
            except LineError as exc:
                raise Unprocessable(str(exc), code=exc.code) from None

    def parse(raw: object) -> tuple[str, str]:
        return lines.from_csv(raw, header) if csv else lines.from_json(raw)  # type: ignore[arg-type]

    # On PostgreSQL a chunk is first written as if each of its places were new: only the places above them are
    # looked up, and the places not among those go in by COPY. One that exists already (the file was imported
    # before, or another request named the place meanwhile) makes the COPY fail: the chunk is rolled back whole
    # and written again carefully (every code of it looked up, every place by the upsert), and so is every chunk
    # after it, as a file that holds known places usually does. SQLite is always careful.
    hopeful = True
    # Places known to exist (no place is ever deleted): the last chunk's parents and the places it wrote. A file's
    # next chunk mostly hangs below the same places, which need not be looked up again.
    confirmed: set[str] = set()

    async def record(chunk: list[tuple[int, tuple[str, str]]]) -> Tally:
        nonlocal hopeful
        if hopeful:
            try:
                return await write(chunk, careful=False)
            except _PlaceExists:
                hopeful = False
        return await write(chunk, careful=True)

    async def write(chunk: list[tuple[int, tuple[str, str]]], *, careful: bool) -> Tally:
        nonlocal confirmed
        tally = Tally()
        async with sessionmaker() as session:
            careful = careful or not is_postgres(session)
            up = regions.parent
            places = [(number, code, name, up(code)) for number, (code, name) in chunk]
            parents = {parent for *_, parent in places if parent is not None}
            # The chunk's first statement (it begins the transaction, even with nothing to look up).
            wanted = (parents | {code for _, code, _, _ in places}) if careful else (parents - confirmed)
            known = await names(session=session, codes=wanted)
            level = regions.level
            current: dict[str, tuple[str, str, str, str | None]] = {}  # code -> (code, name, level, parent) after the lines so far
            for number, code, name, parent in places:
                if parent is not None and parent not in current and parent not in known and parent not in confirmed:
                    tally.reject(number, "region_parent_unknown", f"the place {parent} that holds {code} is not known")
                    continue
                before = current.get(code)
                if (before[1] if before is not None else known.get(code)) == name:
                    tally.duplicates += 1
                    continue
                current[code] = (code, name, level(code), parent)
                tally.accepted += 1
            if current:
                rows = list(current.values())
                await _write(session, rows, known, copy=not careful)
                await _announce(session, [{"code": c, "name": n, "level": lv, "parent": p} for c, n, lv, p in rows], by)
            await session.commit()
        confirmed = {p for p in parents if p in known or p in confirmed}
        confirmed.update(current)
        return tally

    tally = await batches.ingest(lines_in, parse=parse, record=record, chunk=CHUNK)
    async with sessionmaker() as session:
        audit.record(session=session, principal=principal, action="import", entity="region_batch", entity_id=f"{tally.accepted}+{tally.duplicates}")
        await session.commit()
    return tally
