"""The gate's question answered before FastAPI: ``GET /persons/{id}/negative-proof?within_hours=N``.

On PostgreSQL this layer (``cordon.fastpath``) answers the plain success itself: the caller's token
(verified once, then cached until its exp), one prepared statement on the driver's pool reading the
person and the proof summary kept on each result (``proof``), the rule of ``domain/proof.py``, and
bytes from orjson. Anything else (a bad token or role, a malformed id or query, a person not found, a
resident asking about someone else, SQLite) goes on to the ordinary route, which answers it as before.
"""

from __future__ import annotations

import uuid

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from cordon import fastpath
from cordon.app import API_PREFIX
from cordon.auth import STAFF
from cordon.batching import Coalescer
from services.testing.api.deps import DEFAULT_HOURS, MAX_HOURS
from services.testing.domain import proof as rules

_PERSONS = API_PREFIX + "/persons/"
_SUFFIX = "/negative-proof"
ROUTES = fastpath.Routes("testing", {"proof": API_PREFIX + "/persons/{person_id}/negative-proof"}, prefix=API_PREFIX)
_UUID_LENGTH = 36
_QUERY = b"within_hours="

# A batch of lookups (cordon.batching): the person and the summary kept on each result, by person id.
_READ = """
SELECT q.i, r.person_id, r.phone_index, p.latest_negative_collected_at, p.latest_negative_barcode,
       p.latest_positive_collected_at
FROM unnest($1::uuid[]) WITH ORDINALITY AS q(id, i)
JOIN person_ref r ON r.person_id = q.id
LEFT JOIN proof p ON p.id_number_index = r.id_number_index
"""


def _hours(query: bytes) -> int | None:
    """``within_hours`` when the query is only that (or empty: the default), in bounds; else None."""
    if not query:
        return DEFAULT_HOURS
    if not query.startswith(_QUERY):
        return None
    digits = query[len(_QUERY):]
    if not digits.isdigit() or len(digits) > 4:
        return None
    hours = int(digits)
    return hours if 1 <= hours <= MAX_HOURS else None


class HotRoutes:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._reads: Coalescer | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        pool = scope["app"].state.driver_pool if scope["type"] == "http" else None
        body = None
        if pool is not None and scope["method"] == "GET":
            path = scope["path"]
            if path.startswith(_PERSONS) and path.endswith(_SUFFIX):
                body = await self._proof(scope, pool, path[len(_PERSONS):-len(_SUFFIX)])
        if body is None:
            await self.app(scope, receive, send)
            return
        ROUTES.mark(scope, "proof")
        await fastpath.send_json(send, body)

    async def _proof(self, scope: Scope, pool, text: str) -> bytes | None:
        hours = _hours(scope["query_string"])
        if hours is None or len(text) != _UUID_LENGTH:
            return None
        try:
            person_id = uuid.UUID(text)
        except ValueError:
            return None
        principal = fastpath.principal(scope)
        if principal is None or principal.role not in (*STAFF, "resident"):
            return None
        if self._reads is None or self._reads.pool is not pool:
            self._reads = Coalescer(pool, _READ, fields=1, shape=lambda row: row)
        row = await self._reads.get(person_id)
        if row is None:
            return None
        if principal.role == "resident" and not (
            principal.person_id == row[1] or (principal.phone_index is not None and principal.phone_index == row[2])
        ):
            return None  # the ordinary route answers 404: a resident asks only about themself
        answer = rules.negative_proof(rules.Summary(row[3], row[4], row[5]), now=scope["app"].state.clock(), within_hours=hours)
        return orjson.dumps(
            {"valid": answer.valid, "collected_at": answer.collected_at, "barcode": answer.barcode, "within_hours": hours},
            option=fastpath.JSON_OPTIONS,
        )
