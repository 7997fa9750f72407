"""The proxy: one pooled aiohttp session per upstream, streamed bodies, timeouts per route,
one retry of an idempotent read on a failed connect, and a circuit per upstream.

An idempotent request (GET, HEAD, OPTIONS, PUT, DELETE) whose pooled keep-alive connection
the upstream had closed is sent once more on a new connection by aiohttp itself (3.10+,
RFC 9112 9.3.1.1); tests/gateway/integration/test_retry.py holds it to that. Other methods
are not repeated: the caller gets a 502 and decides.

aiohttp, not httpx, carries the hop: measured here, httpx's pool costs about a
millisecond of CPU per request (encode/httpx#3215) and caps a hop near 600 req/s.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import aiohttp
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from cordon.errors import problem
from cordon.observability import ROUTE_HEADER, ROUTE_KEY, request_id_var
from gateway.routes import Route

HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
    "transfer-encoding", "upgrade", "host", "content-length",
    "server", "date", "x-request-id",  # this hop sets its own
    ROUTE_HEADER,  # the upstream's route template: the gateway's metrics label, not the caller's business
}
SMALL_BODY = 256 * 1024  # read whole below this; stream above
IDEMPOTENT = {"GET", "HEAD", "OPTIONS"}


class BodyTooLarge(Exception):
    pass


@dataclass
class Breaker:
    """Opens after ``threshold`` failures in a row; lets one trial through after ``cooldown_s``."""

    threshold: int = 5
    cooldown_s: float = 10.0
    failures: int = 0
    open_until: float = 0.0

    def retry_after(self, now: float) -> float:
        """Seconds the circuit stays open, or 0 when a request may go."""
        if self.failures < self.threshold:
            return 0.0
        if now >= self.open_until:
            self.open_until = now + self.cooldown_s  # half-open: this one request is the trial
            return 0.0
        return self.open_until - now

    @property
    def open(self) -> bool:
        """Open, or half-open (a trial may go): the upstream has failed ``threshold`` times in a row."""
        return self.failures >= self.threshold

    def success(self) -> None:
        self.failures = 0

    def failure(self, now: float) -> None:
        self.failures += 1
        if self.failures >= self.threshold:
            self.open_until = now + self.cooldown_s


@dataclass
class Upstream:
    name: str
    url: str
    session: aiohttp.ClientSession
    breaker: Breaker = field(default_factory=Breaker)


def new_session(limit: int = 200) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=limit, keepalive_timeout=30, ttl_dns_cache=300)
    return aiohttp.ClientSession(connector=connector, auto_decompress=False, skip_auto_headers=("User-Agent",))


def _request_headers(request: Request, authorization: str | None) -> dict[str, str]:
    headers = {k: v for k, v in request.headers.items() if k not in HOP_BY_HOP and k not in ("authorization", "x-api-key")}
    if authorization:
        headers["authorization"] = authorization
    headers["x-request-id"] = request_id_var.get() or ""
    forwarded = request.headers.get("x-forwarded-for")
    client = request.client.host if request.client else ""
    headers["x-forwarded-for"] = f"{forwarded}, {client}" if forwarded else client
    return headers


async def _limited(stream, limit: int, exceeded: list[bool]):
    """The body, chunk by chunk, until it passes ``limit``: then ``exceeded`` is marked and it stops. The
    HTTP client sending it reports that as its own connection error, which must not count as the upstream's."""
    seen = 0
    async for chunk in stream:
        seen += len(chunk)
        if seen > limit:
            exceeded.append(True)
            raise BodyTooLarge()
        yield chunk


async def forward(request: Request, route: Route, upstream: Upstream, authorization: str | None) -> Response:
    now = time.monotonic()
    wait = upstream.breaker.retry_after(now)
    if wait:
        return problem(503, "upstream_unavailable", f"{upstream.name} is failing; try again shortly.",
                       headers={"Retry-After": str(int(wait) + 1)})
    method = request.method
    exceeded: list[bool] = []
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > route.max_body:
        return problem(413, "payload_too_large", f"The body exceeds {route.max_body} bytes for this route.")
    if method in IDEMPOTENT or declared == "0":
        data = None
    elif declared is not None and declared.isdigit() and int(declared) <= SMALL_BODY:
        data = await request.body()
    else:
        data = _limited(request.stream(), route.max_body, exceeded)
    url = upstream.url + request.url.path + (f"?{request.url.query}" if request.url.query else "")
    headers = _request_headers(request, authorization)
    timeout = aiohttp.ClientTimeout(total=route.timeout_s, connect=3)
    attempts = 2 if method in IDEMPOTENT else 1
    for attempt in range(attempts):
        try:
            upstream_response = await upstream.session.request(
                method, url, headers=headers, data=data, timeout=timeout, allow_redirects=False
            )
            break
        except aiohttp.ClientConnectorError:
            if attempt + 1 < attempts:
                continue
            upstream.breaker.failure(time.monotonic())
            return problem(502, "upstream_unreachable", f"{upstream.name} cannot be reached.")
        except (TimeoutError, aiohttp.ServerTimeoutError):
            upstream.breaker.failure(time.monotonic())
            return problem(504, "upstream_timeout", f"{upstream.name} did not answer in {route.timeout_s:.0f} s.")
        except BodyTooLarge:
            return problem(413, "payload_too_large", f"The body exceeds {route.max_body} bytes for this route.")
        except aiohttp.ClientError as exc:
            if exceeded:  # the body grew past the limit while it was being sent
                return problem(413, "payload_too_large", f"The body exceeds {route.max_body} bytes for this route.")
            upstream.breaker.failure(time.monotonic())
            return problem(502, "upstream_error", f"{upstream.name} failed: {type(exc).__name__}.")
    upstream.breaker.success()
    if template := upstream_response.headers.get(ROUTE_HEADER):
        request.scope[ROUTE_KEY] = template
    response_headers = {k: v for k, v in upstream_response.headers.items() if k.lower() not in HOP_BY_HOP}
    length = upstream_response.content_length
    if length is not None and length <= SMALL_BODY:
        try:
            body = await upstream_response.read()
        finally:
            upstream_response.release()
        return Response(body, status_code=upstream_response.status, headers=response_headers)
    return StreamingResponse(
        upstream_response.content.iter_any(),
        status_code=upstream_response.status,
        headers=response_headers,
        background=BackgroundTask(upstream_response.release),
    )
