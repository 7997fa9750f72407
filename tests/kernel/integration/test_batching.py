"""Coalesced point reads on a real PostgreSQL pool: right answers for every lookup, fewer statements than
lookups under a crowd, nothing answered from a statement older than the lookup, failures to every caller."""

from __future__ import annotations

import asyncio
import random

import asyncpg
import pytest

from cordon import db
from cordon.batching import Coalescer
from tests.serving import eventually

pytestmark = pytest.mark.postgres

READ = "SELECT q.i, kv.v FROM unnest($1::int[]) WITH ORDINALITY AS q(k, i) JOIN kv ON kv.k = q.k"
# Each row pays a sleep (the select list runs per row; a LEFT JOIN keeps the row of a missing key).
SLOW = "SELECT q.i, kv.v, pg_sleep(1.5) FROM unnest($1::int[]) WITH ORDINALITY AS q(k, i) LEFT JOIN kv ON kv.k = q.k"


@pytest.fixture
async def pool(tmp_path):
    from tests.conftest import Databases

    databases = Databases("postgres", tmp_path)
    url = await databases.new("batching")
    pool = await db.driver_pool(url, size=2)
    await pool.execute("CREATE TABLE kv (k int PRIMARY KEY, v text NOT NULL)")
    await pool.executemany("INSERT INTO kv VALUES ($1, $2)", [(k, f"v{k}") for k in range(1, 101)])
    try:
        yield pool
    finally:
        await pool.close()
        await databases.drop_all()


async def test_a_crowd_of_lookups_gets_its_own_answers_in_fewer_statements(pool):
    reads = Coalescer(pool, READ, fields=1, shape=lambda row: row[1])
    keys = [random.randrange(1, 130) for _ in range(400)]  # some missing, some repeated
    answers = await asyncio.gather(*(reads.get(k) for k in keys))
    assert answers == [f"v{k}" if k <= 100 else None for k in keys]
    assert 1 <= reads.statements < len(keys) / 4


async def test_a_lookup_never_reads_from_a_statement_that_began_before_it(pool):
    reads = Coalescer(pool, SLOW, fields=1, shape=lambda row: row[1], max_batch=1000)
    first = asyncio.ensure_future(reads.get(500))
    await eventually(lambda: _sleeping(pool))  # the first statement is executing: it holds its snapshot
    await pool.execute("INSERT INTO kv VALUES (500, 'new')")
    second = await reads.get(500)  # arrived after the first began: its own statement sees the row
    assert await first is None and second == "new"
    assert reads.statements == 2


async def test_a_failing_statement_fails_each_of_its_lookups_and_the_next_batch_runs(pool):
    broken = Coalescer(pool, READ.replace("kv.v", "kv.missing"), fields=1, shape=lambda row: row[1])
    results = await asyncio.gather(*(broken.get(k) for k in range(1, 20)), return_exceptions=True)
    assert all(isinstance(r, asyncpg.PostgresError) for r in results)
    reads = Coalescer(pool, READ, fields=1, shape=lambda row: row[1])
    assert await reads.get(7) == "v7"


async def _sleeping(pool) -> bool:
    """A backend inside pg_sleep: its statement is executing, so its snapshot is taken. (A query's text shows
    as active from its Parse message on, before the snapshot: waiting for that raced the INSERT.)"""
    rows = await pool.fetch("SELECT 1 FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND pid <> pg_backend_pid()")
    return bool(rows)


async def test_the_driver_pool_gives_back_a_connection_without_a_reset_round_trip(tmp_path):
    """The hot reads leave no session state, so a released connection is not reset (asyncpg's default is
    a round trip on every release, as costly as the read); a transaction left open is still rolled back."""
    from tests.conftest import Databases

    databases = Databases("postgres", tmp_path)
    single = await db.driver_pool(await databases.new("reset"), size=1)
    try:
        async with single.acquire() as connection:
            await connection.execute("SET application_name = 'cordon-kept'")
        async with single.acquire() as connection:
            assert await connection.fetchval("SHOW application_name") == "cordon-kept"  # no RESET ALL ran
            await connection.execute("BEGIN")
            await connection.execute("SET application_name = 'cordon-in-a-transaction'")
        async with single.acquire() as connection:
            assert not connection.is_in_transaction()
            assert await connection.fetchval("SHOW application_name") == "cordon-kept"  # rolled back
    finally:
        await single.close()
        await databases.drop_all()
