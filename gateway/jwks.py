"""GET /.well-known/jwks.json at the root: the public keys of health-code passes, for scanners offline.

The registry signs passes and owns their keys; the gateway publishes the registry's key set,
kept for a few seconds (a scanner fetches it rarely; a rotation shows within that time, and a
new key starts signing only once its own time has come). If the registry is away, the last set
fetched is served; with none, 503.
"""

from __future__ import annotations

import time

import httpx
from fastapi import Request
from fastapi.responses import Response

from cordon.errors import problem

FRESH_S = 10.0


class KeySet:
    def __init__(self, http: httpx.AsyncClient, registry_url: str) -> None:
        self.http, self.url = http, f"{registry_url.rstrip('/')}/.well-known/jwks.json"
        self.body: bytes | None = None
        self.fetched = 0.0

    async def get(self) -> bytes | None:
        if self.body is None or time.monotonic() - self.fetched > FRESH_S:
            try:
                response = await self.http.get(self.url, timeout=3)
                if response.status_code == 200:
                    self.body, self.fetched = response.content, time.monotonic()
            except httpx.HTTPError:
                pass  # the last set fetched stands
        return self.body


async def jwks(request: Request) -> Response:
    body = await request.app.state.jwks.get()
    if body is None:
        return problem(503, "keys_unavailable", "The pass keys cannot be read right now.", headers={"Retry-After": "5"})
    return Response(body, media_type="application/json", headers={"Cache-Control": "public, max-age=60"})
