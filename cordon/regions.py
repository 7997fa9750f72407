"""Administrative region codes (GB/T 2260): 2 province, 2 city, 2 county digits."""

from __future__ import annotations

import re

_CODE = re.compile(r"^[1-9][0-9]{5}$")


def is_region_code(code: str) -> bool:
    return bool(_CODE.match(code))


def scope_prefix(code: str) -> str:
    """The prefix every code inside ``code`` starts with: 320000 -> '32', 320400 -> '3204', 320413 -> '320413'."""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def contains(outer: str, inner: str) -> bool:
    """Whether region ``inner`` lies in (or is) region ``outer``."""
    return inner.startswith(scope_prefix(outer))


def parent(code: str) -> str | None:
    """One level up: county -> city -> province -> None."""
    if code.endswith("0000"):
        return None
    if code.endswith("00"):
        return code[:2] + "0000"
    return code[:4] + "00"
