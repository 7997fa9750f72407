"""Every service's and the gateway's migrations, step by step on both databases: each revision is applied,
taken back down and applied again, with rows in the tables, which survive every step."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import func, insert, select

from cordon import db, migrate
from cordon.bus.tables import outbox
from cordon.clock import utcnow
from cordon.settings import SERVICES


def revisions(service: str, url: str) -> list[str]:
    """The service's revisions from the first to the head."""
    script = ScriptDirectory.from_config(migrate.config(service, url))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


async def outbox_rows(url: str, add: bool) -> int:
    engine = db.create_engine(url)
    try:
        async with engine.begin() as conn:
            if add:
                await conn.execute(insert(outbox).values(
                    event_id=uuid.uuid4(), nats_subject="test.step.kept", payload="{}", created_at=utcnow()))
            return await conn.scalar(select(func.count()).select_from(outbox))
    finally:
        await engine.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("service", SERVICES)
async def test_each_revision_goes_down_and_up_again_with_data(databases, service):
    url = await databases.new(f"steps_{service}")
    steps = revisions(service, url)
    assert len(steps) >= 2
    rows = 0
    for i, revision in enumerate(steps):
        await asyncio.to_thread(migrate.upgrade, service, url, revision)
        rows = await outbox_rows(url, add=True)  # the bus tables come with the first revision
        assert rows == i + 1, revision
        if i == 0:
            continue
        await asyncio.to_thread(migrate.downgrade, service, url, steps[i - 1])
        assert await outbox_rows(url, add=False) == rows, f"{revision} down lost rows"
        await asyncio.to_thread(migrate.upgrade, service, url, revision)
        assert await outbox_rows(url, add=False) == rows, f"{revision} up again lost rows"
    await asyncio.to_thread(migrate.downgrade, service, url, "base")
    await asyncio.to_thread(migrate.upgrade, service, url, "head")
