"""The events service's tables."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from cordon.db import new_metadata


class Base(DeclarativeBase):
    metadata = new_metadata()
