"""The bus's own tables, present in every service's database (created by its first migration)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text, UniqueConstraint, Uuid, text

from cordon.db import UTCDateTime, new_metadata

metadata = new_metadata()

# SQLite only autoincrements an INTEGER PRIMARY KEY.
_Seq = BigInteger().with_variant(Integer(), "sqlite")

outbox = Table(
    "outbox",
    metadata,
    Column("seq", _Seq, primary_key=True, autoincrement=True),
    Column("event_id", Uuid, nullable=False, unique=True),
    Column("nats_subject", String(200), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text),
    # The relay's one query: unsent rows in commit order.
    Index("ix_outbox_unsent", "seq", postgresql_where=text("sent_at IS NULL"), sqlite_where=text("sent_at IS NULL")),
    Index("ix_outbox_sent_at", "sent_at"),  # the relay's prune of old sent rows
)

inbox = Table(
    "inbox",
    metadata,
    Column("consumer", String(100), primary_key=True),
    Column("event_id", Uuid, primary_key=True),
    Column("handled_at", UTCDateTime, nullable=False),
)

dead_letter = Table(
    "dead_letter",
    metadata,
    Column("id", _Seq, primary_key=True, autoincrement=True),
    Column("consumer", String(100), nullable=False),
    Column("event_id", String(64)),
    Column("nats_subject", String(200), nullable=False),
    Column("payload", Text, nullable=False),
    Column("error", Text, nullable=False),
    Column("deliveries", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("consumer", "event_id"),
)
