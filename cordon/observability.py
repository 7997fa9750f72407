"""JSON logs carrying the request id (and never personal data), and Prometheus metrics."""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from contextvars import ContextVar

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cordon import messages

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

REQUEST_ID_HEADER = "x-request-id"
ROUTE_KEY = "cordon.route"  # a scope key: the route template a proxy resolved, for metrics and logs
ROUTE_HEADER = "x-cordon-route"  # a service's answer names its route template; the gateway takes it off
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

# Digits runs that look like a resident ID number or a mobile phone: scrubbed from
# every log line, whatever code wrote it (defence in depth; code must not log them).
_PII = re.compile(r"(?<![0-9])(?:[0-9]{17}[0-9Xx]|1[3-9][0-9]{9})(?![0-9])")


def scrub(text: str) -> str:
    return _PII.sub("[redacted]", text)


# What every LogRecord carries: anything else on a record came as a field (``extra={...}``).
_RECORD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


def _field(value):
    if isinstance(value, str):
        return scrub(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return scrub(str(value))


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, service, logger, message, request_id, and each field a
    call passed (``log.info("request", extra={"route": ..., "status": ...})``), personal data scrubbed."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        if rid := request_id_var.get():
            entry["request_id"] = rid
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRS and key not in entry:
                entry[key] = _field(value)
        if record.exc_info:
            entry["exc"] = scrub(self.formatException(record.exc_info))
        return orjson.dumps(entry).decode()


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.Formatter.converter = time.gmtime
    for noisy in ("uvicorn.access",):  # our middleware logs requests without query strings
        logging.getLogger(noisy).disabled = True
    # httpx logs every request at INFO (the gateway's readiness probes: four lines a call); warnings stay.
    logging.getLogger("httpx").setLevel(logging.WARNING)


REQUESTS = Counter("cordon_http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
LATENCY = Histogram(
    "cordon_http_request_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
BUS_PUBLISHED = Counter("cordon_bus_published_total", "Events published by the relay", ["service"])
BUS_RELAY_ERRORS = Counter("cordon_bus_relay_errors_total", "Relay publish attempts that failed", ["service"])
BUS_HANDLED = Counter("cordon_bus_handled_total", "Events handled by consumers", ["consumer", "outcome"])
BUS_DEAD_LETTERS = Counter("cordon_bus_dead_letters_total", "Poison events set aside", ["consumer"])

# Gauges: what the process finds when it looks (every CORDON_METRICS_REFRESH_S; cordon.app.refresh_gauges).
# Read from the service's database, they are the same on every replica: aggregate them with max().
OUTBOX_UNSENT = Gauge("cordon_outbox_unsent", "Outbox rows not yet acknowledged by JetStream", ["service"])
OUTBOX_OLDEST_AGE = Gauge("cordon_outbox_oldest_unsent_age_seconds", "Age of the oldest unsent outbox row (0: none)",
                          ["service"])
DEAD_LETTERS = Gauge("cordon_dead_letters", "Dead letters kept (cordon dead-letters list)", ["service", "consumer"])
INBOX_LAG = Gauge("cordon_inbox_lag", "Messages of a durable consumer not yet acknowledged (pending + in flight)",
                  ["service", "consumer"])
NOTIFICATIONS = Gauge("cordon_notifications", "Notifications by channel and status (queued, failed)", ["channel", "status"])
BREAKER_OPEN = Gauge("cordon_upstream_breaker_open", "1 while the gateway's circuit to an upstream is open", ["upstream"])
LEADS_OVERDUE = Gauge("cordon_leads_overdue", "Open leads past their due time")
REPORTS_MISSING = Gauge("cordon_reports_missing", "Units told missing today's daily report that still have not reported")
READY = Gauge("cordon_ready", "1 while the process reads its database and (if it has one) reaches NATS", ["service"])
GAUGES_REFRESHED = Gauge("cordon_gauges_refreshed_timestamp_seconds", "When the gauges were last refreshed", ["service"])


def serve_metrics(host: str, port: int | None):
    """Prometheus metrics on an internal port of their own (a thread); None when no port is set."""
    if port is None:
        return None
    from prometheus_client import start_http_server

    server, _thread = start_http_server(port, addr=host)
    return server


def metrics_response() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


class RequestContextMiddleware:
    """Accepts or creates X-Request-ID, returns it, and records metrics (pure ASGI: no body buffering)."""

    def __init__(self, app: ASGIApp, service: str, public: bool = False) -> None:
        self.app = app
        self.service = service
        self.public = public
        self.log = logging.getLogger(f"cordon.{service}.http")
        self._children: dict[tuple, tuple] = {}  # the metrics' label children, looked up once per route and status

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given, accept = "", None
        for name, value in scope["headers"]:  # one pass over the raw headers (a hot path's share is per request)
            if name == b"x-request-id" and not given:  # the first, as Headers.get gives it
                given = value.decode("latin-1")
            elif name == b"accept-language" and accept is None:
                accept = value.decode("latin-1")
        # 128 random bits in hex, as uuid4().hex minus building a UUID (a few µs a request on a hot route)
        rid = given if _VALID_REQUEST_ID.match(given) else os.urandom(16).hex()
        token = request_id_var.set(rid)
        # The caller's language, for problems built outside an exception handler (cordon.errors.problem).
        lang = messages.language_var.set(messages.language(accept))
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
                if not self.public and (route := scope.get("route")) is not None:
                    # Behind the gateway: the route template, which the gateway labels its own metrics with.
                    message["headers"].append((ROUTE_HEADER.encode(), getattr(route, "path", "").encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            # The gateway's proxy names the route it resolved (its own route is the catch-all {path:path}).
            template = scope.get(ROUTE_KEY) or getattr(route, "path", "unmatched")
            elapsed = time.perf_counter() - started
            key = (scope["method"], template, status)
            children = self._children.get(key)
            if children is None:
                children = self._children[key] = (
                    REQUESTS.labels(self.service, scope["method"], template, str(status)),
                    LATENCY.labels(self.service, scope["method"], template),
                )
            children[0].inc()
            children[1].observe(elapsed)
            if template not in ("/metrics", "/healthz", "/readyz"):
                # The route template, never the raw path or query: those can hold personal data.
                self.log.info("request", extra={"method": scope["method"], "route": template, "status": status,
                                                "duration_ms": round(elapsed * 1000, 1)})
            request_id_var.reset(token)
            messages.language_var.reset(lang)
