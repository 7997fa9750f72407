"""The hot reads, through the driver: prepared statements on an asyncpg pool over the health-code read model.

No ORM session, no pre-ping, no BEGIN/ROLLBACK: each read is one statement (asyncpg prepares it once per
connection and keeps it), autocommitted, and the lookups that arrive together share it (cordon.batching). The caller's region check is part of the statement, so a person
outside the caller's regions is simply not found (the ordinary path then answers 404 as always).
PostgreSQL only; on SQLite the ordinary routes serve these answers.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from cordon import regions
from cordon.auth import Principal
from cordon.batching import Coalescer

# Each statement reads a batch of lookups (cordon.batching): the keys as arrays, each row tagged with its
# lookup's position. The answer of GET /persons/{id}/health-code for a caller who sees the person's place
# (a range of codes: the caller's own, so the region check is in the statement):
_DOCS_IN_RANGE = """
SELECT q.i, h.doc
FROM unnest($1::uuid[], $2::text[], $3::text[]) WITH ORDINALITY AS q(id, lo, hi, i)
JOIN health_code h ON h.person_id = q.id
JOIN person p ON p.id = q.id
WHERE p.region_code BETWEEN q.lo AND q.hi
"""
# A caller with several regions (rare): one statement of its own, any of the ranges.
_DOC_IN_RANGES = """
SELECT h.doc FROM health_code h JOIN person p ON p.id = h.person_id
WHERE h.person_id = $1
  AND EXISTS (SELECT 1 FROM unnest($2::text[], $3::text[]) AS r(lo, hi) WHERE p.region_code BETWEEN r.lo AND r.hi)
"""
_DOCS = """
SELECT q.i, h.doc FROM unnest($1::uuid[]) WITH ORDINALITY AS q(id, i) JOIN health_code h ON h.person_id = q.id
"""
_PASS_FACTS = """
SELECT q.i, h.color, h.version, p.name
FROM unnest($1::uuid[]) WITH ORDINALITY AS q(id, i)
JOIN health_code h ON h.person_id = q.id
JOIN person p ON p.id = q.id
"""
_VERSIONS = """
SELECT q.i, h.version FROM unnest($1::uuid[]) WITH ORDINALITY AS q(id, i) JOIN health_code h ON h.person_id = q.id
"""

# An admin sees every place: every code (digits, 6 to 15 of them, not starting with 0) lies in this range.
EVERYWHERE = ("0", "9" * regions.MAX_LENGTH)


def ranges(principal: Principal) -> list[tuple[str, str]]:
    """The code ranges the caller sees: the same containment as ``Principal.sees_region`` (regions.within)."""
    if principal.role == "admin":
        return [EVERYWHERE]
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


def _second(row):
    return row[1]


class HotReads:
    def __init__(self, pool) -> None:
        self.pool = pool
        self._ranges: dict[tuple[str, tuple[str, ...]], list[tuple[str, str]]] = {}
        self._docs_in_range = Coalescer(pool, _DOCS_IN_RANGE, fields=3, shape=_second)
        self._docs = Coalescer(pool, _DOCS, fields=1, shape=_second)
        self._pass_facts = Coalescer(pool, _PASS_FACTS, fields=1, shape=lambda row: PassFacts(row[1], row[2], row[3]))
        self._versions = Coalescer(pool, _VERSIONS, fields=1, shape=_second)

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
        spans = self._ranges_of(principal)
        if not spans:
            return None
        if len(spans) == 1:
            return await self._docs_in_range.get(person_id, spans[0][0], spans[0][1])
        return await self.pool.fetchval(_DOC_IN_RANGES, person_id, [s[0] for s in spans], [s[1] for s in spans])

    async def own_doc(self, person_id: uuid.UUID) -> str | None:
        return await self._docs.get(person_id)

    async def pass_facts(self, person_id: uuid.UUID) -> PassFacts | None:
        return await self._pass_facts.get(person_id)

    async def version(self, person_id: uuid.UUID) -> int | None:
        return await self._versions.get(person_id)
