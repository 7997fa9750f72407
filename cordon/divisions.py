"""The names of every province, city and county of China that Cordon ships (cordon/data/divisions.csv).

One file, read by every service that keeps place names: the registry loads it into its place tree
(migration registry_0005), and notify seeds its copy of the names from it (notify_0008), so a fresh
system names any county everywhere; every place created or renamed after that reaches the others
in ``registry.region.changed``.
"""

from __future__ import annotations

import csv
from pathlib import Path

PATH = Path(__file__).resolve().parent / "data" / "divisions.csv"


def shipped() -> list[tuple[str, str]]:
    """(code, name) of every shipped place, in the file's order (parents before their children)."""
    with PATH.open(encoding="utf-8", newline="") as f:
        return [(row["code"], row["name"]) for row in csv.DictReader(f)]


def create_place_ref() -> None:
    """A migration step: a service's ``place_ref`` (code, name, updated_at), seeded with every shipped place
    as of before any event, so the registry's first announcement of a shipped place (a rename) wins."""
    from datetime import UTC, datetime

    import sqlalchemy as sa
    from alembic import op

    from cordon.db import UTCDateTime

    table = op.create_table(
        "place_ref",
        sa.Column("code", sa.String(length=15), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_place_ref")),
    )
    seeded_at = datetime(2000, 1, 1, tzinfo=UTC)
    op.bulk_insert(table, [{"code": code, "name": name, "updated_at": seeded_at} for code, name in shipped()])
