"""The command office's counters as pure rules: what one person, measure or lead adds to its place's
counters, the change between two states as per-place deltas, and the roll-up of places one level down.

A counter is kept per place (the code a person is registered at: a village, a grid...) and metric; a
region's figure is the sum of the counters whose place lies in it (one index range, ``regions.within``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from cordon import regions

COLORS = ("green", "yellow", "red")


@dataclass(frozen=True)
class PersonState:
    region_code: str
    color: str
    overdue: bool


@dataclass(frozen=True)
class LeadState:
    region_code: str
    open: bool
    overdue: bool


def person_counts(state: PersonState | None) -> Counter:
    if state is None:
        return Counter()
    counts = Counter({"people": 1, f"color.{state.color}": 1})
    if state.overdue:
        counts["tests_overdue"] = 1
    return counts


def measure_counts(kind: str, status: str | None) -> Counter:
    return Counter({f"measure.{kind}": 1}) if status == "active" else Counter()


def lead_counts(state: LeadState | None) -> Counter:
    if state is None or not state.open:
        return Counter()
    return Counter({"leads_open": 1, **({"leads_overdue": 1} if state.overdue else {})})


def deltas(before: tuple[str, Counter] | None, after: tuple[str, Counter] | None) -> dict[tuple[str, str], int]:
    """(place, metric) -> change, for a thing that counted ``before`` at one place and ``after`` at another
    (either None: it did not count, or no longer does). Zero changes are left out."""
    out: Counter = Counter()
    if before is not None:
        for metric, n in before[1].items():
            out[(before[0], metric)] -= n
    if after is not None:
        for metric, n in after[1].items():
            out[(after[0], metric)] += n
    return {key: n for key, n in out.items() if n}


def child_of(scope: str | None, code: str) -> str | None:
    """The place one level below ``scope`` that ``code`` lies in (``code`` itself when it is one); ``scope``
    itself for a code registered at the scope's own level; None outside. ``scope`` None: the whole
    country, whose children are the provinces."""
    if scope is None:
        return code[:2] + "0000" if regions.is_region_code(code) else None
    if code == scope:
        return scope
    return regions.child_toward(scope, code)


def roll_up(scope: str | None, rows: Iterable[tuple[str, str, int]]) -> dict[str, Counter]:
    """(place, metric, value) rows inside ``scope`` -> {child place: Counter(metric -> sum)}."""
    out: dict[str, Counter] = {}
    for code, metric, value in rows:
        child = child_of(scope, code)
        if child is not None and value:
            out.setdefault(child, Counter())[metric] += value
    return out


def overview(totals: Counter, measure_kinds: Iterable[str]) -> dict:
    """Summed counters -> the overview's figures (every colour and every known kind present, zeros included)."""
    kinds = set(measure_kinds) | {m.split(".", 1)[1] for m in totals if m.startswith("measure.")}
    return {
        "people": totals["people"],
        "by_color": {color: totals[f"color.{color}"] for color in COLORS},
        "measures_active": {kind: totals[f"measure.{kind}"] for kind in sorted(kinds)},
        "tests_overdue": totals["tests_overdue"],
        "leads_open": totals["leads_open"],
        "leads_overdue": totals["leads_overdue"],
    }
