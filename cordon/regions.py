"""The place tree: region codes, their levels, and containment by code prefix.

Province, city and county are 6-digit GB/T 2260 codes (``320000`` 江苏省, ``320400``
常州市, ``320413`` 金坛区); a township or street adds 3 digits (9), a village or
community 3 more (12), a grid 3 more (15), as in the national statistical division
codes. A place contains every code that starts with its prefix: a county's prefix
is its code, a city's its first 4 digits, a province's its first 2, and a
township's, village's or grid's its whole code.

Containment is one indexed range comparison, never a walk of the tree: ``within``
is the single place every service turns a region scope into SQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

from sqlalchemy import and_, false, or_
from sqlalchemy.sql.elements import ColumnElement

Level = Literal["province", "city", "county", "township", "village", "grid"]
LEVELS: tuple[str, ...] = ("province", "city", "county", "township", "village", "grid")
MAX_LENGTH = 15

# 6 digits (not starting with 0); then up to three segments of 3 digits, none of them 000.
# Below a province only: a township hangs from a county, or from a city without counties (东莞 441900).
_CODE = re.compile(r"^[1-9][0-9]{5}$|^[1-9][0-9](?!0000)[0-9]{4}(?:(?!000)[0-9]{3}){1,3}$")
# The provinces of GB/T 2260 (the first two digits of every code).
PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42",
    "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82",
})


def is_region_code(code: object) -> bool:
    """Whether ``code`` is well formed (6, 9, 12 or 15 digits) in a province that exists: a form check, not
    whether the place itself exists. Every service asks this one function, so the place list's
    check (a code that names a known place) belongs here when the list is imported."""
    return isinstance(code, str) and bool(_CODE.match(code)) and code[:2] in PROVINCES


_BELOW_COUNTY = {9: "township", 12: "village", 15: "grid"}


def level(code: str) -> Level:
    """The level a (well-formed) code names."""
    if len(code) == 6:
        return "province" if code.endswith("0000") else "city" if code.endswith("00") else "county"
    return _BELOW_COUNTY[len(code)]  # type: ignore[return-value]


def scope_prefix(code: str) -> str:
    """The prefix every code inside ``code`` starts with: 320000 -> '32', 320400 -> '3204', 320413 -> '320413',
    320413100 -> '320413100' (and so on down to the grid)."""
    if len(code) == 6:
        if code.endswith("0000"):
            return code[:2]
        if code.endswith("00"):
            return code[:4]
    return code


def contains(outer: str, inner: str) -> bool:
    """Whether region ``inner`` lies in (or is) region ``outer``."""
    return inner.startswith(scope_prefix(outer))


def parent(code: str) -> str | None:
    """One level up: grid -> village -> township -> county (or a city without counties) -> city -> province -> None."""
    if len(code) > 6:
        return code[:-3]
    if code.endswith("0000"):
        return None
    if code.endswith("00"):
        return code[:2] + "0000"
    return code[:4] + "00"


def city(code: str) -> str | None:
    """The city (地级市) holding a place, or a city itself: 320413100201 -> 320400, 441900003 -> 441900;
    None for a province."""
    head = code[:6]
    return None if head.endswith("0000") else head[:4] + "00"


def county(code: str) -> str | None:
    """The county holding a place below the county, or the county itself (a town of a city without counties
    answers the city: 441900003 -> 441900); None for a province or a city."""
    head = code[:6]
    return head if len(code) > 6 or level(head) == "county" else None


def child_toward(outer: str, inner: str) -> str | None:
    """The place directly inside ``outer`` on the way down to ``inner`` (``inner`` itself when it is one);
    None when ``inner`` is ``outer`` or lies outside it. 320400, 320413100201 -> 320413."""
    return next((up for up in ancestors(inner) if up != outer and parent(up) == outer), None) if contains(outer, inner) else None


def ancestors(code: str) -> list[str]:
    """``code`` and every place above it, nearest first: 320413100201 -> [.., 320413100, 320413, 320400, 320000]."""
    chain = [code]
    while (up := parent(chain[-1])) is not None:
        chain.append(up)
    return chain


def within(column, code: str) -> ColumnElement[bool]:
    """SQL: ``column`` names ``code`` or a place inside it.

    A range over the prefix (codes are digits, at most 15 long), which any B-tree index on the
    column serves, bound parameters and all (a ``LIKE $1 || '%'`` is not planned as a range).
    """
    prefix = scope_prefix(code)
    return and_(column >= prefix, column <= prefix + "9" * (MAX_LENGTH - len(prefix)))


def within_any(column, codes: Iterable[str]) -> ColumnElement[bool]:
    """SQL: ``column`` lies inside one of ``codes`` (none: nothing)."""
    clauses = [within(column, code) for code in codes]
    return or_(*clauses) if clauses else false()
