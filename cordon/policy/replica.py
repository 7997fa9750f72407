"""A service's copy of the active policy, kept from ``registry.policy.changed``.

Until the registry publishes one, the default document serves. Testing, events
and notify add ``HANDLERS`` to their registry consumer and read ``current()``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Column, Integer, Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from cordon import clock, policy
from cordon.bus.envelope import Envelope
from cordon.contracts.registry import PolicyChanged
from cordon.db import JSONType, UTCDateTime, new_metadata

metadata = new_metadata()

policy_copy = Table(
    "policy_copy",
    metadata,
    Column("id", Integer, primary_key=True),  # always 1: one row, the latest
    Column("policy_version", Integer, nullable=False),
    Column("document", JSONType, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
)

# Parsed documents by (version, received_at): a version number alone is not unique across databases.
_parsed: dict[tuple, policy.Policy] = {}


async def current(session: AsyncSession) -> policy.Policy:
    row = (
        await session.execute(select(policy_copy.c.policy_version, policy_copy.c.received_at, policy_copy.c.document))
    ).first()
    if row is None:
        return policy.default()
    key = (row.policy_version, row.received_at)
    if key not in _parsed:
        _parsed.clear()
        _parsed[key] = policy.Policy.model_validate(row.document)
    return _parsed[key]


async def on_policy_changed(session: AsyncSession, event: PolicyChanged, envelope: Envelope) -> None:
    policy.Policy.model_validate(event.document)  # a document the registry validated; checked again here
    row = (await session.execute(select(policy_copy.c.policy_version))).first()
    values = {"policy_version": event.policy_version, "document": event.document, "received_at": clock.now()}
    if row is None:
        await session.execute(policy_copy.insert().values(id=1, **values))
    elif row.policy_version < event.policy_version:  # versions may arrive out of order after a redelivery
        await session.execute(policy_copy.update().where(policy_copy.c.id == 1).values(**values))


HANDLERS = {PolicyChanged.subject: on_policy_changed}


def create_table_v1() -> None:
    """Migration step for the services that keep a copy."""
    op.create_table(
        "policy_copy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("document", JSONType, nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_copy")),
    )


def drop_table_v1() -> None:
    op.drop_table("policy_copy")
