"""Opaque keyset cursors and region ranges for the list queries."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import ColumnElement

from cordon import regions
from cordon.errors import DomainError

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


class CursorInvalid(DomainError):
    code, status = "invalid_cursor", 400


def encode(*values: object) -> str:
    raw = json.dumps([v.isoformat() if isinstance(v, datetime) else str(v) if isinstance(v, uuid.UUID) else v for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(cursor: str, *kinds: type) -> tuple:
    """The values of ``cursor``, each converted to its kind (datetime, uuid.UUID or int)."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != len(kinds):
            raise ValueError
        values = []
        for kind, value in zip(kinds, raw):
            if kind is datetime:
                value = datetime.fromisoformat(value)
                if value.tzinfo is None:
                    raise ValueError
            elif kind is uuid.UUID:
                value = uuid.UUID(value)
            elif not isinstance(value, kind):
                raise ValueError
            values.append(value)
        return tuple(values)
    except (ValueError, TypeError, AttributeError):
        raise CursorInvalid("The cursor is not one this list gave out.") from None


def in_region(column, region_code: str) -> ColumnElement[bool]:
    """``column`` inside ``region_code`` as a range of codes: an index range on any collation."""
    prefix = regions.scope_prefix(region_code)
    return column.between(prefix.ljust(6, "0"), prefix.ljust(6, "9"))
