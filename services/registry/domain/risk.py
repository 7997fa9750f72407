"""Whether a place someone was in may fall under a travel rule of the risk list."""

from __future__ import annotations

from cordon import regions


def around(area: str) -> str:
    """The widest place a risk area's rules reach: its province (the county, city and province rules)."""
    return area[:2] + "0000"


def touches_risk(region: str, risk: dict[str, str]) -> bool:
    """Whether a record may fall under a travel rule: inside an area, holding one, or in the same province (the
    county, city and province rules); the engine decides which."""
    return any(regions.contains(around(area), region) or regions.contains(region, area) for area in risk)
