"""The bus tables as migration steps, for every service's first revision (a snapshot: version 1)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cordon.db import UTCDateTime

_Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def create_bus_tables_v1() -> None:
    op.create_table(
        "outbox",
        sa.Column("seq", _Seq, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("nats_subject", sa.String(200), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime()),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_outbox")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_event_id")),
    )
    op.create_index(
        "ix_outbox_unsent",
        "outbox",
        ["seq"],
        postgresql_where=sa.text("sent_at IS NULL"),
        sqlite_where=sa.text("sent_at IS NULL"),
    )
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(100), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("handled_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id", name=op.f("pk_inbox")),
    )
    op.create_table(
        "dead_letter",
        sa.Column("id", _Seq, primary_key=True, autoincrement=True),
        sa.Column("consumer", sa.String(100), nullable=False),
        sa.Column("event_id", sa.String(64)),
        sa.Column("nats_subject", sa.String(200), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letter")),
        sa.UniqueConstraint("consumer", "event_id", name=op.f("uq_dead_letter_consumer_event_id")),
    )


def drop_bus_tables_v1() -> None:
    op.drop_table("dead_letter")
    op.drop_table("inbox")
    op.drop_index("ix_outbox_unsent", table_name="outbox")
    op.drop_table("outbox")


def create_bus_sent_index_v2() -> None:
    """The relay's prune deletes sent rows by age: served by an index, not a scan of days of rows."""
    op.create_index("ix_outbox_sent_at", "outbox", ["sent_at"])


def drop_bus_sent_index_v2() -> None:
    op.drop_index("ix_outbox_sent_at", table_name="outbox")
