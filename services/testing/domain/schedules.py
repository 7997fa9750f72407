"""Scheduled tests of control measures: which days to keep, which a sample fulfils, which are due."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

Standing = Literal["upcoming", "due", "overdue"]


@dataclass(frozen=True)
class Plan:
    add: list[date]
    reopen: list[date]
    cancel: list[date]


def plan(existing: dict[date, str], test_days: Iterable[date]) -> Plan:
    """A measure (re)assigned with ``test_days``, against its schedules ``existing`` (day -> status).

    New days are added; open days no longer named are cancelled; a day cancelled by an earlier
    reassignment and named again is reopened; fulfilled days stay fulfilled."""
    wanted = set(test_days)
    return Plan(
        add=sorted(wanted - existing.keys()),
        reopen=sorted(d for d in wanted if existing.get(d) == "cancelled"),
        cancel=sorted(d for d, status in existing.items() if status == "open" and d not in wanted),
    )


def fulfils(due_on: date, collected_on: date) -> bool:
    """A sample collected on or after the due day (China time) fulfils it."""
    return collected_on >= due_on


def standing(due_on: date, *, today: date, overdue_after_days: int) -> Standing:
    """An open test is due from its day, and overdue once ``overdue_after_days`` past it."""
    if today < due_on:
        return "upcoming"
    if today >= due_on + timedelta(days=overdue_after_days):
        return "overdue"
    return "due"


def overdue_cutoff(today: date, overdue_after_days: int) -> date:
    """Open tests due on or before this day are overdue today."""
    return today - timedelta(days=overdue_after_days)


def periodic_days(*, since: date, every_days: int | None, weekdays: Iterable[int], start: date, end: date) -> list[date]:
    """The days from ``start`` to ``end`` (inclusive) of a recurring test held since ``since``: every
    ``every_days`` days counted from ``since``, or the ISO ``weekdays`` (1 = Monday) from ``since`` on."""
    first = max(since, start)
    days = [first + timedelta(days=n) for n in range((end - first).days + 1)]
    if every_days is not None:
        return [d for d in days if (d - since).days % every_days == 0]
    wanted = set(weekdays)
    return [d for d in days if d.isoweekday() in wanted]


def series_id(person_id: uuid.UUID, tag: str) -> uuid.UUID:
    """The stable id of a person's recurring tests by ``tag``: the same person and tag, the same series."""
    return uuid.uuid5(SERIES_NAMESPACE, f"{person_id}:{tag}")


SERIES_NAMESPACE = uuid.UUID("6d1f3a52-9c1e-4c55-8a43-2f8f0b6d7e10")
