"""The hot reads, through the driver: prepared statements on an asyncpg pool over the health-code read model.

No ORM session, no pre-ping, no BEGIN/ROLLBACK: each read is one statement (asyncpg prepares it once per
connection and keeps it), autocommitted. The caller's region check is part of the statement, so a person
outside the caller's regions is simply not found (the ordinary path then answers 404 as always).
PostgreSQL only; on SQLite the ordinary routes serve these answers.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from cordon import regions
from cordon.auth import Principal

# The answer of GET /persons/{id}/health-code for a caller who sees the person's place (a range of codes).
_DOC_IN_RANGE = """
SELECT h.doc FROM health_code h JOIN person p ON p.id = h.person_id
WHERE h.person_id = $1 AND p.region_code BETWEEN $2 AND $3
"""
# The same for a caller with several regions: any of the ranges.
_DOC_IN_RANGES = """
SELECT h.doc FROM health_code h JOIN person p ON p.id = h.person_id
WHERE h.person_id = $1
  AND EXISTS (SELECT 1 FROM unnest($2::text[], $3::text[]) AS r(lo, hi) WHERE p.region_code BETWEEN r.lo AND r.hi)
"""
_DOC = "SELECT doc FROM health_code WHERE person_id = $1"  # an admin's, and a resident's own
_PASS_FACTS = "SELECT h.color, h.version, p.name FROM health_code h JOIN person p ON p.id = h.person_id WHERE h.person_id = $1"
_VERSION = "SELECT version FROM health_code WHERE person_id = $1"

def ranges(principal: Principal) -> list[tuple[str, str]]:
    """The code ranges the caller sees: the same containment as ``Principal.sees_region`` (regions.within).
    Not for an admin, who sees every place."""
    out = []
    for code in principal.regions:
        prefix = regions.scope_prefix(code)
        out.append((prefix, prefix + "9" * (regions.MAX_LENGTH - len(prefix))))
    return out


@dataclass
class PassFacts:
    color: str
    version: int
    name: str


class HotReads:
    def __init__(self, pool) -> None:
        self.pool = pool
        self._ranges: dict[tuple[str, tuple[str, ...]], list[tuple[str, str]]] = {}

    def _ranges_of(self, principal: Principal) -> list[tuple[str, str]]:
        key = (principal.role, principal.regions)
        found = self._ranges.get(key)
        if found is None:
            if len(self._ranges) > 10_000:
                self._ranges.clear()
            found = self._ranges[key] = ranges(principal)
        return found

    async def code_doc(self, principal: Principal, person_id: uuid.UUID) -> str | None:
        """The person's health-code answer, if the caller sees the person's place."""
        if principal.role == "admin":
            return await self.pool.fetchval(_DOC, person_id)
        spans = self._ranges_of(principal)
        if not spans:
            return None
        if len(spans) == 1:
            return await self.pool.fetchval(_DOC_IN_RANGE, person_id, spans[0][0], spans[0][1])
        return await self.pool.fetchval(_DOC_IN_RANGES, person_id, [s[0] for s in spans], [s[1] for s in spans])

    async def own_doc(self, person_id: uuid.UUID) -> str | None:
        return await self.pool.fetchval(_DOC, person_id)

    async def pass_facts(self, person_id: uuid.UUID) -> PassFacts | None:
        row = await self.pool.fetchrow(_PASS_FACTS, person_id)
        return PassFacts(row[0], row[1], row[2]) if row is not None else None

    async def version(self, person_id: uuid.UUID) -> int | None:
        return await self.pool.fetchval(_VERSION, person_id)
