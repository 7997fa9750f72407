"""Small SQL helpers shared by the use cases: the dialect's INSERT (for ON CONFLICT), chunking."""

from __future__ import annotations

from typing import Iterable, Iterator, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")

# Both SQLite and asyncpg cap bound parameters near 32k: multi-row statements go in slices.
SLICE = 500


def insert(session: AsyncSession, table):
    if session.bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(table)


def slices(items: Iterable[T], size: int = SLICE) -> Iterator[list[T]]:
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]
