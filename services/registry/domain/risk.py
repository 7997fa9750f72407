"""Whether a place someone was in may fall under a travel rule of the risk list."""

from __future__ import annotations

from cordon import regions


def touches_risk(region: str, risk: dict[str, str]) -> bool:
    """Whether a record may fall under a travel rule: inside an area, holding one, or in the same city (the
    county and city rules); the engine decides which."""
    return any(regions.contains(regions.city(area) or area, region) or regions.contains(region, area) for area in risk)
