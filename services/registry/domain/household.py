"""A household: the people registered at the same address in the same village, tested with one of them ("4+1")."""

from __future__ import annotations

from datetime import date, timedelta

from cordon.policy import Rule

VILLAGE_DIGITS = 12


def village(region_code: str) -> str | None:
    """The village or community a person lives in (a grid belongs to its village); None above that level."""
    return region_code[:VILLAGE_DIGITS] if len(region_code) >= VILLAGE_DIGITS else None


def address_key(address: str | None) -> str:
    """An address compared as written, spaces aside (全角 spaces too): 华城路 1 号 is 华城路1号."""
    return "".join((address or "").split())


def same_household(region_a: str, address_a: str | None, region_b: str, address_b: str | None) -> bool:
    """Registered at the same address in the same village (an address alone says nothing above a village)."""
    home = village(region_a)
    return home is not None and home == village(region_b) and address_key(address_a) != "" and (
        address_key(address_a) == address_key(address_b)
    )


def linked(region_a: str, key_a: str | None, region_b: str, key_b: str | None) -> bool:
    """Linked explicitly: the same household key (户号) in the same county."""
    return bool(key_a) and key_a == key_b and region_a[:6] == region_b[:6]


def test_days(rule: Rule | None, kind: str, starts_on: date, ends_on: date) -> list[date]:
    """The days the policy tests the household of a person under measure ``kind`` of ``rule`` (from the
    measure's own dates, so a measure extended by 填平补齐 tests on its new last day)."""
    if rule is None:
        return []
    days = set()
    for test in rule.tests:
        if test.household and test.measure == kind:
            day = ends_on if test.day == "last" else starts_on + timedelta(days=test.day - 1)
            if starts_on <= day <= ends_on:
                days.add(day)
    return sorted(days)
