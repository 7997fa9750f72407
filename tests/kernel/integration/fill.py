"""A row in every table of a migrated database, whatever its columns: for the migration steps' test, so
each revision goes down and up again with data in every table the service owns, not only the outbox."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Connection, MetaData, insert, select
from sqlalchemy import types as t
from sqlalchemy.exc import DBAPIError

# Values a table's check constraints or the code need, where the generated ones would not do.
KNOWN: dict[str, object] = {}


def value(column, n: int):
    kind = column.type
    if isinstance(kind, t.Boolean):
        return False
    if isinstance(kind, t.Integer):
        return n
    if isinstance(kind, t.Numeric | t.Float):
        return n
    if isinstance(kind, t.DateTime):
        return dt.datetime(2026, 3, 1, 8, 0, n % 60, tzinfo=dt.UTC)
    if isinstance(kind, t.Date):
        return dt.date(2026, 3, 1) + dt.timedelta(days=n)
    if isinstance(kind, t.Uuid):
        return uuid.uuid4()
    if isinstance(kind, t.JSON):
        return {}
    if isinstance(kind, t.LargeBinary):
        return b"x"
    if isinstance(kind, t.String):
        # Short enough for every width a column had in any earlier revision (region codes were 6 digits).
        return f"{n}{uuid.uuid4().hex}"[: min(kind.length or 6, 6)]
    raise TypeError(f"{column.table.name}.{column.name}: {kind!r}")


def fill_tables(conn: Connection, n: int) -> tuple[list[str], dict[str, str]]:
    """Insert one row into every table (parents first, foreign keys pointing at a parent's row).
    The tables that took a row, and why the others did not."""
    meta = MetaData()
    meta.reflect(conn)
    seeded, failed = [], {}
    inserted: dict[str, dict] = {}  # this call's row of each table, its generated keys included
    for table in meta.sorted_tables:
        if table.name == "alembic_version":
            continue
        row = {}
        try:
            for column in table.columns:
                if column.autoincrement is True and column.primary_key and isinstance(column.type, t.Integer):
                    continue
                if column.foreign_keys:  # the parent's row of this call (parents come first)
                    target = next(iter(column.foreign_keys)).column
                    parent = inserted.get(target.table.name, {})
                    row[column.name] = parent.get(target.name, conn.execute(select(target).limit(1)).scalar())
                    continue
                if column.nullable and not column.primary_key:
                    continue
                if column.server_default is not None:
                    continue
                row[column.name] = KNOWN.get(f"{table.name}.{column.name}", value(column, n))
            with conn.begin_nested():
                keys = conn.execute(insert(table).values(row)).inserted_primary_key
            inserted[table.name] = {**row, **{c.name: v for c, v in zip(table.primary_key.columns, keys or (), strict=False)}}
            seeded.append(table.name)
        except (DBAPIError, TypeError) as exc:
            failed[table.name] = str(exc).splitlines()[0][:200]
    return seeded, failed
