"""Hot routes answered before FastAPI: the shared pieces of a service's fast-path ASGI layer.

A service lists its layers in ``create_service_app(fast_paths=...)``; they sit innermost, inside the
request-id, metrics and error layers. A layer answers the plain success of a few hot routes itself
(the caller's token through the app's verified-token cache, one prepared statement on the driver's
pool, bytes from orjson) and hands every other request on to the ordinary routes, which answer it
exactly as before: a fast path never invents a refusal of its own.
"""

from __future__ import annotations

from collections.abc import Iterator

import orjson
from prometheus_client import Counter
from starlette.types import Message, Receive, Scope, Send

from cordon.auth import Principal

# orjson's bytes as the response models make them: UTC datetimes end in "Z".
JSON_OPTIONS = orjson.OPT_UTC_Z

ANSWERED = Counter(
    "cordon_fast_path_answers_total", "Answers a fast path served itself (the rest went to the ordinary routes)",
    ["service", "route"],
)

_JSON_HEADERS = b"application/json"


def principal(scope: Scope) -> Principal | None:
    """The caller of a bearer token the app accepts (verified once, then cached until its exp); None for
    anything else (no token, a bad one, another scheme): the ordinary route answers those."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            if value[:7].lower() != b"bearer ":
                return None
            try:
                return scope["app"].state.tokens.decode(value[7:].decode("latin-1").strip())
            except Exception:  # noqa: BLE001 - the ordinary route answers the token's problem
                return None
    return None


def _routes(routes) -> Iterator[object]:
    """Every route of an app, into the routers it includes (FastAPI 0.16x keeps an included router whole, as
    one route holding ``original_router``, where earlier versions copied its routes in with the prefix)."""
    for route in routes:
        router = getattr(route, "original_router", None)
        if router is not None:
            yield from _routes(router.routes)
        else:
            yield route


class Routes:
    """The ordinary routes' objects by template, so that metrics and logs name the route a fast path served
    exactly as they name the ordinary route's answers (the object the router puts in ``scope["route"]``)."""

    def __init__(self, service: str, templates: dict[str, str], prefix: str = "") -> None:
        self.templates, self.prefix = templates, prefix
        self.counters = {kind: ANSWERED.labels(service, template) for kind, template in templates.items()}
        self._found: dict[str, object] = {}

    def route(self, app, kind: str) -> object | None:
        """The route of ``kind``: its path is the template, or the template less the prefix its router was
        included with (FastAPI 0.16x)."""
        if kind not in self._found:
            template = self.templates[kind]
            paths = {template, template.removeprefix(self.prefix)} if self.prefix else {template}
            self._found[kind] = next((r for r in _routes(app.routes) if getattr(r, "path", None) in paths), None)
        return self._found[kind]

    def mark(self, scope: Scope, kind: str) -> None:
        scope["route"] = self.route(scope["app"], kind)
        self.counters[kind].inc()


async def send_json(send: Send, body: bytes) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", _JSON_HEADERS), (b"content-length", str(len(body)).encode()),
    ]})
    await send({"type": "http.response.body", "body": body})


def replay(messages: list[Message], then: Receive | None = None) -> Receive:
    """A receive that gives ``messages`` again, then goes on with ``then``."""
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        if then is None:
            return {"type": "http.disconnect"}
        return await then()

    return receive


async def read_body(receive: Receive, limit: int) -> tuple[bytes | None, Receive]:
    """The request body when it is at most ``limit`` bytes (else None), and a receive for the ordinary
    route that gives it the same body again."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            return None, replay([message])
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > limit:  # the ordinary route reads it all again, and the rest if more is coming
            more = message.get("more_body", False)
            return None, replay([{"type": "http.request", "body": b"".join(chunks), "more_body": more}], receive if more else None)
        if not message.get("more_body", False):
            raw = b"".join(chunks)
            return raw, replay([{"type": "http.request", "body": raw, "more_body": False}])
