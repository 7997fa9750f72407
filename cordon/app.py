"""The frame every service shares: lifespan (database, bus, background tasks), health, errors, metrics."""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cordon import apidoc, clock, db, errors, observability
from cordon.auth import VerifiedTokens
from cordon.bus import Bus, ConsumerSpec, stats
from cordon.bus.outbox import SOURCE
from cordon.bus.streams import STREAMS
from cordon.pii import Vault
from cordon.settings import Settings

API_PREFIX = "/api/v1"

log = logging.getLogger("cordon.app")

# A background task takes the app and runs until cancelled (daily schedulers, escalation clocks).
Task = Callable[[FastAPI], Awaitable[None]]
ReadinessCheck = Callable[[FastAPI], Awaitable[dict]]
# Resources an app holds for its lifetime (client pools...): entered at start, left at stop.
Context = Callable[[FastAPI], AbstractAsyncContextManager]
# A service's own gauges, set when the frame refreshes the bus's (notify's queue, the registry's leads...).
GaugeCheck = Callable[[FastAPI], Awaitable[None]]


async def refresh_gauges(app: FastAPI, checks: Iterable[GaugeCheck] = ()) -> None:
    """Read the outbox backlog, the dead letters and each consumer's lag, then the service's own gauges."""
    service, bus = app.state.settings.service, app.state.bus
    async with app.state.sessionmaker() as session:
        backlog = await stats.backlog(session)
        letters = await stats.dead_letters_by_consumer(session)
    observability.OUTBOX_UNSENT.labels(service).set(backlog.unsent)
    observability.OUTBOX_OLDEST_AGE.labels(service).set(backlog.oldest_age_s(clock.utcnow()))
    names = {c.spec.name for c in bus.consumers} if bus is not None else set()
    for consumer in names | set(letters):
        observability.DEAD_LETTERS.labels(service, consumer).set(letters.get(consumer, 0))
    js = bus.jetstream() if bus is not None else None
    if js is not None:
        for consumer in bus.consumers:
            try:
                info = await asyncio.wait_for(js.consumer_info(consumer.spec.stream, consumer.spec.name), 2)
            except Exception:  # noqa: BLE001 - not declared yet, or NATS away: the last value stands
                continue
            observability.INBOX_LAG.labels(service, consumer.spec.name).set(info.num_pending + info.num_ack_pending)
    for check in checks:
        await check(app)
    observability.GAUGES_REFRESHED.labels(service).set(time.time())


async def _gauge_loop(app: FastAPI, checks: list[GaugeCheck]) -> None:
    service = app.state.settings.service
    while True:
        try:
            await asyncio.wait_for(refresh_gauges(app, checks), 10)
            bus = app.state.bus
            observability.READY.labels(service).set(1 if bus is None or bus.ready else 0)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a database away: the gauges keep their last values
            observability.READY.labels(service).set(0)
            log.warning("gauges not refreshed", extra={"error": type(exc).__name__})
        await asyncio.sleep(app.state.settings.metrics_refresh_s)


NATS_CHECK_TIMEOUT_S = 1.0


async def nats_round_trip(bus: Bus | None) -> str:
    """"ok" when JetStream answers an account-info request in time: a frozen server (SIGSTOP) keeps the
    client's connection flag up for minutes, so the flag alone is no evidence."""
    js = bus.jetstream() if bus is not None else None
    if js is None:
        return "unavailable"
    try:
        await asyncio.wait_for(js.account_info(), NATS_CHECK_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - any failure of the round trip is "not ready"
        return f"unavailable: {type(exc).__name__}"
    return "ok"


def public_states(checks: dict) -> dict:
    """Each check's state word only ("ok", "unavailable", "unreachable"): no address, no error text."""
    def word(value) -> str:
        if isinstance(value, dict):
            value = value.get("status", "unavailable")
        return str(value).split(":", 1)[0]

    return {name: ({"status": word(v)} if isinstance(v, dict) else word(v)) for name, v in checks.items()}


def _causes(exc: BaseException | None):
    """The error and what it wraps (SQLAlchemy's wrapper, the driver's error), each once."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        yield exc
        seen.add(id(exc))
        exc = getattr(exc, "orig", None) or exc.__cause__


def nul_character(exc: BaseException) -> bool:
    """PostgreSQL refused a text holding U+0000 (it cannot store one): the caller's input, not our fault."""
    import asyncpg

    return any(isinstance(e, asyncpg.exceptions.CharacterNotInRepertoireError) for e in _causes(exc))


def database_unreachable(exc: BaseException) -> bool:
    """A lost or refused database connection (a restart, a failover): the pool reconnects, the caller retries."""
    import asyncpg
    from sqlalchemy.exc import DBAPIError

    lost = (
        ConnectionError, OSError, asyncpg.exceptions.ConnectionDoesNotExistError, asyncpg.PostgresConnectionError,
        asyncpg.exceptions.AdminShutdownError, asyncpg.exceptions.CannotConnectNowError,
    )
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return any(isinstance(e, lost) for e in _causes(exc))


class UnexpectedErrors:
    """An unexpected error becomes an ordinary 500 problem+json carrying the request id.

    Starlette's ServerErrorMiddleware answers such an error and then re-raises it, and
    uvicorn closes the connection of a request whose app raised: a proxy's pooled
    connection died with it, and the next caller on it got a 502. Here the error is
    logged and answered, and the request ends normally, so the connection stays usable.
    Installed inside the request-id middleware, so the id is known.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            if not started and nul_character(exc):  # nothing was written: the transaction failed whole
                response = errors.problem(422, "validation_error", "The request holds a NUL character (U+0000), which cannot be stored.",
                                          request_id=observability.request_id_var.get())
                await response(scope, receive, send)
                return
            log.exception("unhandled error", extra={"method": scope.get("method"), "route": getattr(scope.get("route"), "path", "unmatched")})
            if started:  # part of an answer is out: nothing truthful can follow it on this connection
                raise
            rid = observability.request_id_var.get()
            if database_unreachable(exc):
                response = errors.problem(
                    503, "database_unavailable", "The database cannot be reached; try again shortly.",
                    headers={"Retry-After": "1"}, request_id=rid,
                )
            else:
                response = errors.problem(
                    500, "internal_error", "An unexpected error occurred; it has been logged.",
                    request_id=rid,
                )
            await response(scope, receive, send)


def create_service_app(
    *,
    settings: Settings,
    routers: Iterable[APIRouter] = (),
    consumers: Iterable[ConsumerSpec] = (),
    tasks: Iterable[Task] = (),
    readiness: ReadinessCheck | None = None,
    contexts: Iterable[Context] = (),
    own_docs: bool = True,
    streams: dict[str, list[str]] | None = None,
    description: str = "",
    public: bool = False,
    fast_paths: Iterable[type] = (),
    gauges: Iterable[GaugeCheck] = (),
) -> FastAPI:
    """``public``: the process faces the internet (the gateway): its /readyz names states without error
    texts, and its /metrics on the main port needs CORDON_METRICS_TOKEN outside dev mode.
    ``fast_paths``: ASGI layers (cordon.fastpath) that answer a few hot routes before FastAPI.
    ``gauges``: the service's own gauges, set each time the frame refreshes the bus's."""
    consumers, tasks, contexts, fast_paths = list(consumers), list(tasks), list(contexts), list(fast_paths)
    gauges = list(gauges)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        observability.configure_logging(settings.service, settings.log_level)
        engine = db.create_engine(settings.database_url)
        sessionmaker = db.create_sessionmaker(engine)
        sessionmaker.kw["info"] = {SOURCE: settings.source}
        app.state.settings = settings
        app.state.engine = engine
        app.state.sessionmaker = sessionmaker
        app.state.clock = clock.utcnow  # tests put a clock of their own here
        app.state.tokens = VerifiedTokens(
            public_key=settings.jwt_public_key, issuer=settings.jwt_issuer, audience=settings.jwt_audience,
            key_file=settings.jwt_public_key_file,
        )
        app.state.vault = Vault.from_hex(settings.pii_index_key, settings.pii_encryption_key)
        app.state.bus = None
        if settings.nats_url:
            app.state.bus = Bus(
                service=settings.service,
                url=settings.nats_url,
                sessionmaker=sessionmaker,
                consumers=consumers,
                stream_subjects=streams or STREAMS,
                replicas=settings.stream_replicas,
                relay_batch=settings.relay_batch,
                relay_max_backoff_s=settings.relay_max_backoff_s,
                clock=lambda: app.state.clock(),  # handlers' clock.now(): replaced with it by the tests
                credentials=settings.nats_options(),
            )
            await app.state.bus.start()
        else:
            log.warning("CORDON_NATS_URL is not set: events stay in the outbox until it is")
        # The driver's own pool for the fast paths (PostgreSQL only; on SQLite the ordinary routes serve).
        app.state.driver_pool = None
        if fast_paths and settings.hot_reads:
            app.state.driver_pool = await db.driver_pool(settings.database_url, size=settings.hot_pool_size)
        resources = AsyncExitStack()
        for context in contexts:
            await resources.enter_async_context(context(app))
        running = [asyncio.create_task(task(app), name=getattr(task, "__name__", "task")) for task in tasks]
        running.append(asyncio.create_task(_gauge_loop(app, gauges), name="gauges"))
        metrics_server = observability.serve_metrics(settings.metrics_host, settings.metrics_port)
        try:
            yield
        finally:
            if metrics_server is not None:
                metrics_server.shutdown()
                metrics_server.server_close()
            await resources.aclose()
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            if app.state.bus is not None:
                await app.state.bus.stop()
            if app.state.driver_pool is not None:
                await app.state.driver_pool.close()
            await engine.dispose()

    app = FastAPI(
        title=f"Cordon {settings.service}",
        description=description,
        version="1.0.0",
        lifespan=lifespan,
        # The gateway serves one merged document instead of its own.
        openapi_url="/openapi.json" if own_docs else None,
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=apidoc.operation_id,
        # Metrics and traces are Prometheus and the request id (cordon.observability); FastAPI's native
        # OpenTelemetry, with no SDK installed, would still look its providers up in os.environ on every
        # request (about 10 µs each, bench/gateway.py and bench/health_code.py's profiles).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.openapi = lambda: apidoc.document(app)
    if own_docs:
        apidoc.serve_docs(app)
    errors.install(app)
    app.add_middleware(UnexpectedErrors)  # inside the next: it answers with the request id
    app.add_middleware(observability.RequestContextMiddleware, service=settings.service, public=public)
    # Innermost, inside the request id, metrics and error answers: ASGI layers that answer a few hot
    # routes themselves and hand every other request (and every answer but the plain success) on.
    app.user_middleware.extend(Middleware(cls) for cls in fast_paths)
    for router in routers:
        app.include_router(router, prefix=API_PREFIX)

    @app.get("/healthz", tags=["health"], include_in_schema=False)
    async def healthz() -> dict:
        return {"status": "ok", "service": settings.service, "pid": os.getpid()}

    @app.get("/readyz", tags=["health"], include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        checks = {"database": "ok", "nats": "ok"}
        try:
            await asyncio.wait_for(db.ping(request.app.state.engine), 2)
        except Exception as exc:
            checks["database"] = f"unavailable: {type(exc).__name__}"
        checks["nats"] = await nats_round_trip(request.app.state.bus)
        if readiness is not None:
            checks.update(await readiness(request.app))
        ready = all(v == "ok" or (isinstance(v, dict) and v.get("status") == "ok") for v in checks.values())
        if public:
            checks = public_states(checks)
        body = {"status": "ready" if ready else "unavailable", "service": settings.service, "checks": checks}
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/metrics", tags=["health"], include_in_schema=False)
    async def metrics(request: Request):
        token = settings.metrics_token
        if token:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return errors.problem(401, "unauthenticated", "The metrics token is required.",
                                      headers={"WWW-Authenticate": "Bearer"})
        elif public and settings.env != "dev":  # never to the public: an internal port, or the token
            return errors.problem(404, "not_found", "Not found.")
        return observability.metrics_response()

    return app
