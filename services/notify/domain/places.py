"""How a text to staff names a place: by its names, not its code (东城街道西门社区, not 320413100201).

A place below the county is named by its township's, village's and grid's names in turn (the county is
the reader's own); a county or anything above by its own name. A place whose name is not known yet
(the registry has not announced it) is named by what is known above it, with its code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from cordon import regions

BELOW_COUNTY = ("township", "village", "grid")


def wanted(codes: Iterable[str]) -> set[str]:
    """Every code whose name a label of ``codes`` may need: each place and all above it."""
    return {up for code in codes if regions.is_region_code(code) for up in regions.ancestors(code)}


def label(code: str, names: Mapping[str, str]) -> str:
    """The place's name as a reader on the ground says it."""
    if not regions.is_region_code(code):
        return code
    chain = list(reversed(regions.ancestors(code)))  # province first
    below = [c for c in chain if regions.level(c) in BELOW_COUNTY]
    if not below:
        return names.get(code, code)
    if code in names:
        return "".join(names[c] for c in below if c in names)
    known = "".join(names[c] for c in below if c in names)
    if not known:  # nothing below the county is named: the nearest named place above
        known = next((names[c] for c in reversed(chain) if c in names), "")
    return f"{known}（{code}）" if known else code
