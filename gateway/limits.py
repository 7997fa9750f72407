"""Limits at the door: token buckets per principal, per client address, per account and per phone,
the client address behind trusted proxies, and security headers.

The buckets live in Redis when ``CORDON_REDIS_URL`` is set, so every gateway replica spends from the
same ones; the embedded default keeps them in the gateway process (each replica then enforces its own
share, and the gateway says so at start). Should Redis fail, a replica falls back to its own buckets
until Redis answers again: a limit never turns into an outage.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("cordon.gateway.limits")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(text: str) -> tuple[Network, ...]:
    """``CORDON_TRUSTED_PROXIES``: addresses or CIDR blocks, separated by commas or spaces."""
    return tuple(ipaddress.ip_network(part, strict=False) for part in text.replace(",", " ").split())


def _trusted(address: str, trusted: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in trusted)


def client_address(peer: str | None, forwarded_for: list[str], trusted: tuple[Network, ...]) -> str:
    """The client's address: the peer's own, unless the peer is a trusted proxy; then the nearest address in
    ``X-Forwarded-For`` (read from the right) that is not a trusted proxy. What a client writes into the header
    itself sits to the left of what the proxies appended, so it is never reached while a proxy's entry is there."""
    peer = peer or "unknown"
    if not trusted or not _trusted(peer, trusted):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:  # garbage where a proxy put an address: the proxy is the last one known
                return peer
    return hops[0] if hops else peer


@dataclass(frozen=True)
class Limit:
    """A kind of bucket: ``rate`` tokens a second, at most ``burst`` saved up."""

    name: str
    rate: float
    burst: float

    @classmethod
    def per_hour(cls, name: str, count: float) -> Limit:
        return cls(name, count / 3600, count)

    @classmethod
    def per_second(cls, name: str, rate: float) -> Limit:
        return cls(name, rate, rate * 2)


@dataclass
class Bucket:
    rate: float  # tokens per second
    burst: float
    tokens: float = -1.0
    stamp: float = 0.0

    def take(self, now: float) -> float:
        """0 if a request may pass now, else the seconds until it may."""
        if self.tokens < 0:
            self.tokens, self.stamp = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate

    def wait(self, now: float) -> float:
        """The seconds until a token is there, without taking one."""
        if self.tokens < 0:
            return 0.0
        tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate


@dataclass
class RateLimiter:
    rate: float
    burst: float
    clock: Callable[[], float] = time.monotonic
    max_keys: int = 100_000
    buckets: OrderedDict[str, Bucket] = field(default_factory=OrderedDict)

    def check(self, key: str) -> float:
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = Bucket(self.rate, self.burst)
            if len(self.buckets) > self.max_keys:
                self.buckets.popitem(last=False)  # forget the longest-idle key
        else:
            self.buckets.move_to_end(key)
        return bucket.take(self.clock())

    def waiting(self, key: str) -> float:
        """What ``check`` would answer, without spending: for limits charged only on failure."""
        bucket = self.buckets.get(key)
        return bucket.wait(self.clock()) if bucket is not None else 0.0


class LocalBuckets:
    """Buckets in this process: the embedded default, and the fallback while Redis fails."""

    where = "in this gateway process"

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.limiters: dict[str, RateLimiter] = {}

    def _limiter(self, limit: Limit) -> RateLimiter:
        limiter = self.limiters.get(limit.name)
        if limiter is None or (limiter.rate, limiter.burst) != (limit.rate, limit.burst):
            limiter = self.limiters[limit.name] = RateLimiter(limit.rate, limit.burst, clock=self.clock)
        return limiter

    async def take(self, limit: Limit, key: str) -> float:
        return self._limiter(limit).check(key)

    async def waiting(self, limit: Limit, key: str) -> float:
        return self._limiter(limit).waiting(key)

    async def close(self) -> None:
        return None


# One bucket in a Redis hash (tokens, stamp), refilled by Redis's own clock so replicas agree.
# ARGV: rate, burst, spend (1 takes a token, 0 only looks). Returns the wait in microseconds (0: go).
_BUCKET = """
local rate, burst, spend = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens, stamp = tonumber(state[1]), tonumber(state[2])
if tokens == nil then
  if spend == 0 then return 0 end
  tokens, stamp = burst, now
end
tokens = math.min(burst, tokens + (now - stamp) * rate)
local wait = 0
if tokens >= 1 then
  if spend == 1 then tokens = tokens - 1 end
else
  wait = math.ceil((1 - tokens) / rate * 1000000)
end
if spend == 1 then
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(now))
  redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
end
return wait
"""


class RedisBuckets:
    """Buckets in Redis, shared by every gateway replica that names the same ``CORDON_REDIS_URL``."""

    where = "in Redis, shared by every gateway replica"

    def __init__(self, url: str, *, prefix: str = "cordon:limit:", fallback: LocalBuckets | None = None) -> None:
        import redis.asyncio as redis

        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.script = self.client.register_script(_BUCKET)
        self.prefix = prefix
        self.fallback = fallback or LocalBuckets()
        self._warned = 0.0

    async def _run(self, limit: Limit, key: str, spend: int) -> float:
        import redis.exceptions

        try:
            wait = await self.script(keys=[f"{self.prefix}{limit.name}:{key}"], args=[limit.rate, limit.burst, spend])
        except (redis.exceptions.RedisError, OSError) as exc:
            if time.monotonic() - self._warned > 60:
                self._warned = time.monotonic()
                log.warning("limits: Redis failed (%s); this replica counts on its own until it answers",
                            type(exc).__name__)
            local = self.fallback
            return await (local.take(limit, key) if spend else local.waiting(limit, key))
        return int(wait) / 1_000_000

    async def take(self, limit: Limit, key: str) -> float:
        return await self._run(limit, key, 1)

    async def waiting(self, limit: Limit, key: str) -> float:
        return await self._run(limit, key, 0)

    async def close(self) -> None:
        await self.client.aclose()


def buckets(redis_url: str | None) -> LocalBuckets | RedisBuckets:
    store = RedisBuckets(redis_url) if redis_url else LocalBuckets()
    log.info("limits: buckets kept %s%s", store.where,
             "" if redis_url else " (set CORDON_REDIS_URL to share them across replicas)")
    return store


def retry_after(wait: float) -> dict[str, str]:
    return {"Retry-After": str(int(wait) + 1)}


SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
    (b"permissions-policy", b"geolocation=(), camera=(), microphone=()"),
]
API_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = SECURITY_HEADERS + ([API_CSP] if scope["path"].startswith("/api/") else [])

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)
