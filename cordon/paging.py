"""Keyset paging: the one cursor codec and the one page shape every list of every service uses.

A list answers ``{"items": [...], "next_cursor": "..." | null}``. The cursor is opaque to
clients: the base64url of the JSON list of the last row's ordering values. A cursor that is
not one a list gave out (garbage, a number, a cursor of another list) is ``400 invalid_cursor``,
never a 500.
"""

from __future__ import annotations

import base64
import json
import operator
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from sqlalchemy import Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession

from cordon.errors import DomainError

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_CURSOR_LENGTH = 1000  # longer is not a cursor of ours: refused as invalid, not as a validation error
_INT64 = 2**63

# The two query parameters of every list route.
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="How many items at most (1-500).")]
Cursor = Annotated[str | None, Query(description="The `next_cursor` of the previous page; absent for the first page.")]


class CursorInvalid(DomainError):
    code, status = "invalid_cursor", 400


def _invalid() -> CursorInvalid:
    return CursorInvalid("The cursor is not one this list gave out.")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None

    def map(self, convert: Callable[[T], Any]) -> Page:
        return Page([convert(item) for item in self.items], self.next_cursor)


def _plain(value: object) -> object:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def encode(*values: object) -> str:
    raw = json.dumps([_plain(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _typed(kind: type, value: object) -> object:
    if kind is datetime:
        value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            raise ValueError("naive time in a cursor")
        return value
    if kind is date:
        return date.fromisoformat(value)
    if kind is uuid.UUID:
        return uuid.UUID(value)
    if kind is int:
        if type(value) is not int or not -_INT64 <= value < _INT64:
            raise ValueError("not a 64-bit integer")
        return value
    if not isinstance(value, kind):
        raise ValueError(f"not a {kind.__name__}")
    return value


def decode(cursor: str, *kinds: type) -> tuple:
    """The values of ``cursor``, each converted to its kind (datetime, date, uuid.UUID, int or str)."""
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise _invalid()
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != len(kinds):
            raise ValueError("wrong length")
        return tuple(_typed(kind, value) for kind, value in zip(kinds, raw, strict=True))
    except (ValueError, TypeError, AttributeError, UnicodeDecodeError):
        raise _invalid() from None


def _kind(column) -> type:
    kind = column.type
    kind = getattr(kind, "impl_instance", kind)  # a TypeDecorator (UTCDateTime) reads as what it decorates
    return kind.python_type


def _beyond(columns: Sequence, values: Sequence, *, descending: bool):
    """Rows strictly after ``values`` in the order of ``columns`` (lexicographic, one direction)."""
    past = operator.lt if descending else operator.gt
    clause = past(columns[-1], values[-1])
    for column, value in zip(reversed(columns[:-1]), reversed(values[:-1]), strict=True):
        clause = or_(past(column, value), and_(column == value, clause))
    return clause


async def keyset(
    session: AsyncSession,
    query: Select,
    *,
    order: Sequence,
    limit: int,
    cursor: str | None,
    descending: bool = False,
) -> Page:
    """One page of ``query`` ordered by ``order`` (columns ending in a unique one), after ``cursor``.

    The query selects one entity (its rows are the items) or several columns/entities (its
    ``Row`` objects are the items); the ordering values are read back by each column's key.
    """
    if cursor:
        values = decode(cursor, *(_kind(c) for c in order))
        query = query.where(_beyond(order, values, descending=descending))
    query = query.order_by(*(c.desc() if descending else c.asc() for c in order)).limit(limit + 1)
    result = await session.execute(query)
    rows = list(result.scalars() if len(query.column_descriptions) == 1 else result)
    items = rows[:limit]
    if len(rows) <= limit:
        return Page(items, None)
    last = items[-1]
    return Page(items, encode(*(_value(last, c) for c in order)))


def _value(row, column) -> object:
    if hasattr(row, column.key):
        return getattr(row, column.key)
    # A Row of several entities: the column's own entity carries it.
    return getattr(getattr(row, column.class_.__name__), column.key)
