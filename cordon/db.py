"""Async SQLAlchemy: SQLite files (the embedded default) or PostgreSQL, picked by the URL."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy import JSON, DateTime, MetaData, Select, TypeDecorator, event, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no offset of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, **kwargs) -> AsyncEngine:
    # A statement's parameters never reach a log or an error text: they hold names, places and ciphertexts.
    kwargs.setdefault("hide_parameters", True)
    if not is_sqlite(url):
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 10)
        kwargs.setdefault("pool_pre_ping", True)
        return create_async_engine(url, **kwargs)

    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection, _record):
        # We issue BEGIN ourselves (below): the driver's own deferred BEGIN lets two
        # writers deadlock on the lock upgrade, which busy_timeout cannot resolve.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


def is_postgres(session: AsyncSession) -> bool:
    return session.bind.dialect.name == "postgresql"


def dialect_insert(session: AsyncSession, table):
    """The database's own Core INSERT into ``table`` (a Table or a mapped class), for ON CONFLICT clauses:
    the one switch between PostgreSQL and SQLite."""
    if is_postgres(session):
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(getattr(table, "__table__", table))


async def insert_or_ignore(session: AsyncSession, table, values: dict, *, conflict: list[str]) -> bool:
    """INSERT unless a row with the same ``conflict`` key exists; True if inserted."""
    statement = dialect_insert(session, table).values(**values).on_conflict_do_nothing(index_elements=conflict)
    return (await session.execute(statement)).rowcount == 1


class Statistics:
    """The planner's statistics of tables a long bulk write grows, kept current as it goes: PostgreSQL's
    ANALYZE of a table once ``every`` rows have been written since the last look and they are a fifth of what
    the planner believes the table holds (or it never looked), in the caller's transaction; nothing on SQLite.

    A table that grows from nothing within one request has no statistics until autovacuum comes by (once a
    minute, and never where it is turned off): the planner then takes it for a few dozen rows and a lookup
    by an indexed column becomes a scan of every row so far, each chunk slower than the last. A large table
    that grows by a little is left to autovacuum."""

    SHARE = 0.2

    def __init__(self, *tables: str, every: int = 20_000) -> None:
        self.tables, self.every, self._since = tables, every, 0

    async def grew(self, session: AsyncSession, rows: int) -> None:
        self._since += rows
        if self._since < self.every or not is_postgres(session):
            return
        believed = dict((await session.execute(
            text("SELECT t, c.reltuples FROM unnest(CAST(:tables AS text[])) AS t JOIN pg_class c ON c.oid = CAST(t AS regclass)"),
            {"tables": list(self.tables)},
        )).all())
        stale = [t for t in self.tables if believed.get(t, -1) < 0 or self._since >= self.SHARE * believed[t]]
        if stale:
            await session.execute(text(f"ANALYZE {', '.join(stale)}"))
        self._since = 0


def skip_locked(session: AsyncSession, query: Select) -> Select:
    """Rows no other replica holds: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite has one writer anyway)."""
    return query.with_for_update(skip_locked=True) if is_postgres(session) else query


def sync_loaded(session: AsyncSession, model: type, changes: Iterable[tuple[object, dict]]) -> None:
    """Rows of ``model`` a Core statement just changed, as (primary key, {attribute: new value}): the instances
    the session holds of them take the new values as their committed state (nothing is marked dirty, nothing
    is written again), so a set-based write leaves no stale object behind for the rest of the use case."""
    identity_map = session.sync_session.identity_map
    if not len(identity_map):
        return
    for key, values in changes:
        instance = identity_map.get(identity_key(model, key))
        if instance is not None:
            for attribute, value in values.items():
                set_committed_value(instance, attribute, value)


# Both SQLite and asyncpg cap bound parameters near 32k: multi-row statements go in slices.
SLICE = 500


def slices(items: Iterable[T], size: int = SLICE) -> Iterator[list[T]]:
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def driver_url(url: str) -> str | None:
    """The plain ``postgresql://`` URL of a PostgreSQL database URL, for the driver itself; None for SQLite."""
    if is_sqlite(url):
        return None
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def driver_pool(url: str, *, size: int):
    """An asyncpg pool on the PostgreSQL database at ``url`` (None for SQLite), for hot reads that skip the
    ORM: prepared statements (asyncpg caches them per connection), no session, no pre-ping, no BEGIN."""
    plain = driver_url(url)
    if plain is None:
        return None
    import asyncpg

    return await asyncpg.create_pool(plain, min_size=1, max_size=size, reset=_keep_session)


async def _keep_session(connection) -> None:
    """What the driver pool does to a connection given back, after asyncpg's own step (which drops the
    connection's listeners and rolls back a transaction left open): nothing more.

    The hot reads are single autocommitted statements: they leave no session state (no SET, LISTEN,
    advisory lock or cursor), so asyncpg's default reset (``SELECT pg_advisory_unlock_all(); CLOSE ALL;
    UNLISTEN *; RESET ALL``) was a round trip to PostgreSQL on every release for nothing, and it cost the
    registry as much CPU as the read itself (bench/health_code.py's profile). Whoever uses this pool
    for more than such reads must undo what it sets before giving the connection back."""
