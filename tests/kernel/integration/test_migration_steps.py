"""Every service's and the gateway's migrations, step by step on both databases: each revision is applied,
taken back down and applied again, with a row in every table that exists at that step (the outbox and
every table of the service's own), and the rows survive every step."""

from __future__ import annotations

import asyncio

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select, table

from cordon import db, migrate
from cordon.settings import SERVICES
from tests.kernel.integration import fill


def revisions(service: str, url: str) -> list[str]:
    """The service's revisions from the first to the head."""
    script = ScriptDirectory.from_config(migrate.config(service, url))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


async def rows_by_table(url: str, add: int | None = None) -> dict[str, int]:
    """Rows per table; with ``add``, a new row in every table first (tests/kernel/integration/fill.py)."""
    engine = db.create_engine(url)
    try:
        async with engine.begin() as conn:
            if add is not None:
                seeded, failed = await conn.run_sync(fill.fill_tables, add)
                assert not failed, failed
            tables = await conn.run_sync(lambda c: [n for n in inspect(c).get_table_names() if n != "alembic_version"])
            return {name: await conn.scalar(select(func.count()).select_from(table(name))) for name in tables}
    finally:
        await engine.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("service", SERVICES)
async def test_each_revision_goes_down_and_up_again_with_data(databases, service):
    url = await databases.new(f"steps_{service}")
    steps = revisions(service, url)
    assert len(steps) >= 2
    for i, revision in enumerate(steps):
        before = await rows_by_table(url) if i else {}
        await asyncio.to_thread(migrate.upgrade, service, url, revision)
        kept = await rows_by_table(url)
        assert {name: n for name, n in kept.items() if name in before} == before, f"{revision} up lost rows"
        rows = await rows_by_table(url, add=i)
        assert all(n >= 1 for n in rows.values()), rows
        assert rows["outbox"] == i + 1, revision  # the bus tables come with the first revision
        if i == 0:
            continue
        await asyncio.to_thread(migrate.downgrade, service, url, steps[i - 1])
        below = await rows_by_table(url)
        assert below == {name: n for name, n in rows.items() if name in below}, f"{revision} down lost rows"
        await asyncio.to_thread(migrate.upgrade, service, url, revision)
        again = await rows_by_table(url)
        assert {name: n for name, n in again.items() if name in below} == below, f"{revision} up again lost rows"
    await asyncio.to_thread(migrate.downgrade, service, url, "base")
    await asyncio.to_thread(migrate.upgrade, service, url, "head")
