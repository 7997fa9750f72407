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
