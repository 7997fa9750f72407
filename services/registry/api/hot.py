"""The hot routes answered before FastAPI: health-code reads and pass verification at the gate.

``GET /persons/{id}/health-code``, ``GET /me/health-code``, ``GET /me/health-code/pass`` and
``POST /health-code/verify`` are what gates, shops and residents call many times a second. On PostgreSQL
this layer (``cordon.fastpath``) answers their plain successes itself: the caller's token (verified
once, then cached until its exp), one prepared statement on the driver's pool over the health-code read
model (``service/hot_reads.py``, the region check inside it), and the bytes of the read model or of
orjson; no dependency resolution, no ORM session, no response-model validation. Anything else (no or a
bad token, another role, a malformed id or body, a person not found or not visible, SQLite) goes on to
the ordinary routes, which answer it exactly as before.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from cordon import fastpath
from cordon.app import API_PREFIX
from cordon.auth import FIELD_STAFF, STAFF
from services.registry.service import passes

_PERSONS = API_PREFIX + "/persons/"
_CODE_SUFFIX = "/health-code"
_ME_CODE = API_PREFIX + "/me/health-code"
_ME_PASS = API_PREFIX + "/me/health-code/pass"
_VERIFY = API_PREFIX + "/health-code/verify"
ROUTES = fastpath.Routes("registry", {
    "code": API_PREFIX + "/persons/{person_id}/health-code", "me": _ME_CODE, "pass": _ME_PASS, "verify": _VERIFY,
}, prefix=API_PREFIX)
_UUID_LENGTH = 36
_MAX_BODY = 8192  # a pass is at most 4096 characters


def _person_id(text: str) -> uuid.UUID | None:
    if len(text) != _UUID_LENGTH:
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


class HotRoutes:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        reads = getattr(scope["app"].state, "hot_reads", None) if scope["type"] == "http" else None
        if reads is None:
            await self.app(scope, receive, send)
            return
        path, method, body, kind = scope["path"], scope["method"], None, ""
        if method == "GET":
            if path.startswith(_PERSONS) and path.endswith(_CODE_SUFFIX):
                kind, body = "code", await self._code(scope, reads, path[len(_PERSONS):-len(_CODE_SUFFIX)])
            elif path == _ME_CODE:
                kind, body = "me", await self._own(scope, reads)
            elif path == _ME_PASS:
                kind, body = "pass", await self._pass(scope, reads)
        elif method == "POST" and path == _VERIFY:
            kind = "verify"
            body, receive = await self._verify(scope, reads, receive)
        if body is None:
            await self.app(scope, receive, send)
            return
        ROUTES.mark(scope, kind)
        await fastpath.send_json(send, body)

    async def _code(self, scope: Scope, reads, text: str) -> bytes | None:
        if (person_id := _person_id(text)) is None:
            return None
        principal = fastpath.principal(scope)
        if principal is None or principal.role not in FIELD_STAFF:
            return None
        doc = await reads.code_doc(principal, person_id)
        return doc.encode() if doc is not None else None

    async def _own(self, scope: Scope, reads) -> bytes | None:
        principal = fastpath.principal(scope)
        if principal is None or principal.role != "resident" or principal.person_id is None:
            return None
        doc = await reads.own_doc(principal.person_id)
        return doc.encode() if doc is not None else None

    async def _pass(self, scope: Scope, reads) -> bytes | None:
        principal = fastpath.principal(scope)
        if principal is None or principal.role != "resident" or principal.person_id is None:
            return None
        facts = await reads.pass_facts(principal.person_id)
        if facts is None:
            return None
        state = scope["app"].state
        settings = state.settings
        token, expires_at = passes.issue_pass(
            keyring=state.pass_keys, person_id=principal.person_id, color=facts.color, name=facts.name,
            version=facts.version, issuer=settings.jwt_issuer, now=state.clock(), ttl=timedelta(seconds=settings.pass_ttl_s),
        )
        return orjson.dumps({"token": token, "color": facts.color, "expires_at": expires_at}, option=fastpath.JSON_OPTIONS)

    async def _verify(self, scope: Scope, reads, receive: Receive) -> tuple[bytes | None, Receive]:
        principal = fastpath.principal(scope)
        if principal is None or not (
            principal.role in STAFF or (principal.role == "partner" and "gate" in principal.scopes)
        ):
            return None, receive
        raw, receive = await fastpath.read_body(receive, _MAX_BODY)
        if raw is None:
            return None, receive
        try:
            check = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None, receive
        token = check.get("token") if isinstance(check, dict) and len(check) == 1 else None
        if not isinstance(token, str) or not 1 <= len(token) <= 4096:
            return None, receive  # the ordinary route answers the bad body (422)
        state = scope["app"].state
        verdict = await passes.verify_pass(
            versions=reads.version, keyring=state.pass_keys, token=token, issuer=state.settings.jwt_issuer
        )
        return orjson.dumps(verdict, option=fastpath.JSON_OPTIONS), receive
