"""create_app() for the gateway: the one door (auth, routing, limits, one OpenAPI)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator
from starlette.routing import Route as StarletteRoute

from cordon import apidoc, observability
from cordon.app import API_PREFIX, create_service_app
from cordon.auth import STAFF
from cordon.errors import DomainError, problem
from cordon.observability import ROUTE_KEY
from cordon.settings import Settings, secret_file
from gateway import console, door, handlers, jwks, limits, openapi, proxy, routes
from gateway.auth import api as auth_api
from gateway.auth import service as auth
from gateway.auth import tokens, wechat

log = logging.getLogger("cordon.gateway")

ADMIN_PASSWORD_MIN = 10  # as for every staff account (POST /auth/users)


class SmsSettings(BaseModel):
    ttl_s: int = 300
    min_interval_s: int = 60
    max_per_hour: int = 5
    max_attempts: int = 5


class GatewaySettings(Settings):
    service = "gateway"

    registry_url: str = "http://127.0.0.1:8001"
    testing_url: str = "http://127.0.0.1:8002"
    events_url: str = "http://127.0.0.1:8003"
    notify_url: str = "http://127.0.0.1:8004"
    jwt_private_key_file: Path | None = None
    staff_token_ttl_s: int = 8 * 3600
    resident_token_ttl_s: int = 7 * 24 * 3600
    partner_token_ttl_s: int = 600
    admin_password: str | None = None
    cors_origins: list[str] = []
    rate_per_ip: float = 100.0  # requests per second (burst twice that) from an address without a valid credential
    rate_per_principal: float = 50.0  # requests per second of one signed-in caller or partner key, wherever from
    # The door: failed sign-ins (and SMS codes asked for) an hour, per account, phone or client address.
    password_failures_per_account_hour: float = 10.0
    password_failures_per_address_hour: float = 30.0
    sms_codes_per_address_hour: float = 20.0
    code_failures_per_address_hour: float = 30.0
    # Proxies (addresses or CIDR blocks) whose X-Forwarded-For names the client; no one else's is read.
    trusted_proxies: str = ""
    # Buckets shared by every gateway replica; unset: each replica keeps its own (the embedded default).
    redis_url: str | None = None
    sms: SmsSettings = SmsSettings()
    # The mini-program's code2session: without an app id the contract's stand-in answers (dev only).
    wechat_app_id: str | None = None
    wechat_app_secret: str | None = Field(default=None, repr=False)
    wechat_code2session_url: str = wechat.CODE2SESSION_URL
    wechat_failures_per_minute: float = 10.0  # wrong or replayed codes per client address

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        limits.trusted_networks(value)  # an address or CIDR block each, else the process refuses to start
        return value

    def dev_defaults(self) -> None:
        if self.jwt_private_key_file is None and self.env == "dev":
            self.jwt_private_key_file = self.home / "keys" / "jwt_private.pem"

    def missing_secrets(self) -> list[str]:
        missing = super().missing_secrets()
        if self.wechat_app_id and not self.wechat_app_secret:  # WeChat sign-in is on: its secret too
            missing.append("CORDON_WECHAT_APP_SECRET (CORDON_WECHAT_APP_ID is set)")
        elif self.wechat_app_secret and not self.wechat_app_id:
            missing.append("CORDON_WECHAT_APP_ID (CORDON_WECHAT_APP_SECRET is set)")
        if self.env == "dev":
            return missing
        if (wrong := secret_file("CORDON_JWT_PRIVATE_KEY_FILE", self.jwt_private_key_file)) is not None:
            missing.append(wrong)
        if not self.admin_password:  # a generated one would be printed into a container's log, or lost
            missing.append("CORDON_ADMIN_PASSWORD")
        elif len(self.admin_password) < ADMIN_PASSWORD_MIN:
            missing.append(f"CORDON_ADMIN_PASSWORD (at least {ADMIN_PASSWORD_MIN} characters)")
        return missing

    def upstream_url(self, name: str) -> str:
        return getattr(self, f"{name}_url")


# How long the door trusts its last look at a partner key or a staff account: a key revoked or a
# user deactivated with the `cordon` CLI (another process) is refused within this many seconds.
RECHECK_S = 5.0


@dataclass
class PartnerPass:
    authorization: str
    subject: str
    expires: float
    scopes: tuple[str, ...] = ()
    checked_until: float = 0.0


@contextlib.asynccontextmanager
async def _clients(app: FastAPI):
    settings: GatewaySettings = app.state.settings
    app.state.upstreams = {
        name: proxy.Upstream(name, settings.upstream_url(name).rstrip("/"), proxy.new_session()) for name in routes.UPSTREAMS
    }
    app.state.partner_passes = {}
    app.state.staff_deactivated = {}  # user id -> (deactivated, checked until): deactivated users' tokens stop here
    app.state.trusted_proxies = limits.trusted_networks(settings.trusted_proxies)
    app.state.buckets = limits.buckets(settings.redis_url)
    app.state.door = door.DoorLimits.from_settings(settings)
    app.state.ip_limit = limits.Limit.per_second("address", settings.rate_per_ip)
    app.state.principal_limit = limits.Limit.per_second("principal", settings.rate_per_principal)
    if settings.wechat_app_id and settings.wechat_app_secret:
        wechat_session = aiohttp.ClientSession()
        app.state.wechat = wechat.WechatApi(settings.wechat_code2session_url, settings.wechat_app_id,
                                            settings.wechat_app_secret, wechat_session)
    else:
        wechat_session = None
        app.state.wechat = wechat.StandIn() if settings.env == "dev" else wechat.Disabled()
        log.warning("WeChat sign-in: %s", "the built-in code2session stand-in answers (dev-X is o-dev-X)"
                    if settings.env == "dev" else "disabled: CORDON_WECHAT_APP_ID and CORDON_WECHAT_APP_SECRET are not set")
    async with httpx.AsyncClient() as client:
        app.state.http = client
        app.state.jwks = jwks.KeySet(client, settings.registry_url)
        app.state.schema = openapi.MergedSchema(client, {n: u.url for n, u in app.state.upstreams.items()})
        try:
            yield
        finally:
            await app.state.buckets.close()
            await asyncio.gather(*(u.session.close() for u in app.state.upstreams.values()))
            if wechat_session is not None:
                await wechat_session.close()


async def _first_admin(app: FastAPI) -> None:
    settings: GatewaySettings = app.state.settings
    secret_file = settings.home / "admin-password"
    async with app.state.sessionmaker() as session:
        try:
            generated = await auth.ensure_first_admin(
                session=session, password=settings.admin_password, secret_file=secret_file, now=app.state.clock()
            )
        except Exception:  # another replica created it first, or the database is not migrated yet
            log.warning("first admin not created here", exc_info=True)
            return
    if generated:
        # Printed once, on the console only: the password is also in the file (mode 600).
        print(f"[cordon] first admin: username 'admin', password {generated} (also in {secret_file})", flush=True)


async def _partner_pass(request: Request, api_key: str) -> PartnerPass | None:
    passes: dict[str, PartnerPass] = request.app.state.partner_passes
    key = auth.digest(api_key)
    found, now = passes.get(key), time.monotonic()
    if found and found.expires > now and found.checked_until > now:
        return found
    async with request.app.state.sessionmaker() as session:
        partner = await auth.partner_for_key(session=session, api_key=api_key)
    if partner is None:  # unknown, or revoked since the pass was cached
        passes.pop(key, None)
        return None
    if found and found.expires > now:
        found.checked_until = now + RECHECK_S
        return found
    s: GatewaySettings = request.app.state.settings
    token = tokens.issue(
        key_file=s.jwt_private_key_file, issuer=s.jwt_issuer, audience=s.jwt_audience, subject=str(partner.id),
        role="partner", ttl_s=s.partner_token_ttl_s, username=partner.name, scopes=partner.scopes,
        regions=partner.regions,
    )
    passes[key] = PartnerPass(
        f"Bearer {token}", str(partner.id), now + s.partner_token_ttl_s / 2, tuple(partner.scopes), now + RECHECK_S
    )
    return passes[key]


async def _refused(request: Request, status: int, code: str, detail: str, **headers):
    """A request without a valid credential: it spends from its address's bucket (429 once that is empty)."""
    wait = await request.app.state.buckets.take(request.app.state.ip_limit, door.address(request))
    if wait:
        return problem(429, "rate_limited", "Too many requests from this address.", headers=limits.retry_after(wait))
    return problem(status, code, detail, headers=headers or None)


async def _proxy(request: Request):
    path = request.path_params["path"]
    route = routes.resolve(path)
    if route is None:
        return await _refused(request, 404, "not_found", "No such route.")
    # Until the upstream names its template (when it answers), the route table's prefix labels the metrics.
    request.scope[ROUTE_KEY] = route.label
    buckets = request.app.state.buckets
    authorization = request.headers.get("authorization")
    api_key = request.headers.get("x-api-key")
    if api_key and route.api_key:
        if auth.digest(api_key) not in request.app.state.partner_passes:  # a key not seen yet costs a database read
            wait = await buckets.waiting(request.app.state.ip_limit, door.address(request))
            if wait:
                return problem(429, "rate_limited", "Too many requests from this address.", headers=limits.retry_after(wait))
        partner = await _partner_pass(request, api_key)
        if partner is None:
            return await _refused(request, 401, "invalid_api_key", "The API key is not valid.")
        if route.scope and route.scope not in partner.scopes:
            return problem(403, "scope_missing", f"This API key does not open this route (scope {route.scope}).")
        authorization, subject = partner.authorization, partner.subject
    elif authorization and authorization[:7].lower() == "bearer ":
        try:  # rejected early here; each service checks the token again itself
            principal = request.app.state.tokens.decode(authorization[7:])
        except DomainError as exc:
            return await _refused(request, exc.status, exc.code, exc.detail, **{"WWW-Authenticate": "Bearer"})
        subject = principal.subject
        if principal.role == "resident" and principal.person_id is not None and not await _bound(request, principal):
            return problem(401, "token_revoked", "此登录凭证对应的手机号已变更，请重新登录（the phone number of this login changed; log in again）。",
                           headers={"WWW-Authenticate": "Bearer"})
        if principal.role in STAFF and await _deactivated(request, principal.subject):
            return problem(401, "account_disabled", "该账号已停用，请联系管理员（this account has been deactivated）。",
                           headers={"WWW-Authenticate": "Bearer"})
    else:
        return await _refused(request, 401, "unauthenticated", "A bearer token is required.", **{"WWW-Authenticate": "Bearer"})
    # A signed-in caller is limited as itself, not by its address: a thousand gate scanners behind one NAT
    # are a thousand buckets.
    wait = await buckets.take(request.app.state.principal_limit, subject)
    if wait:
        return problem(429, "rate_limited", "Too many requests; slow down.", headers=limits.retry_after(wait))
    return await proxy.forward(request, route, request.app.state.upstreams[route.upstream], authorization)


async def _deactivated(request: Request, user_id: str) -> bool:
    cache: dict[str, tuple[bool, float]] = request.app.state.staff_deactivated
    now = time.monotonic()
    known = cache.get(user_id)
    if known and known[1] > now:
        return known[0]
    async with request.app.state.sessionmaker() as session:
        deactivated = await auth.user_deactivated(session=session, user_id=user_id)
    if len(cache) > 100_000:
        cache.clear()
    cache[user_id] = (deactivated, now + RECHECK_S)
    return deactivated


async def _bound(request: Request, principal) -> bool:
    async with request.app.state.sessionmaker() as session:
        return await auth.phone_still_bound(session=session, phone_index=principal.phone_index, person_id=principal.person_id)


async def _breakers(app: FastAPI) -> None:
    for name, upstream in app.state.upstreams.items():
        observability.BREAKER_OPEN.labels(name).set(1 if upstream.breaker.open else 0)


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()

    async def upstream_states(app: FastAPI) -> dict:
        async def state(name: str, url: str) -> dict:
            try:
                response = await app.state.http.get(f"{url}/readyz", timeout=2)
            except httpx.HTTPError as exc:  # the public answer names the state only; the log says why
                log.warning("readiness: %s unreachable (%s)", name, type(exc).__name__)
                return {"status": "unreachable"}
            return {"status": "ok" if response.status_code == 200 else "unavailable"}

        ups = app.state.upstreams
        states = await asyncio.gather(*(state(n, u.url) for n, u in ups.items()))
        return dict(zip(ups, states))

    app = create_service_app(
        settings=settings,
        routers=[auth_api.router, auth_api.me_router],
        consumers=handlers.CONSUMERS,
        tasks=[_first_admin],
        contexts=[_clients],
        readiness=upstream_states,
        own_docs=False,
        public=True,
        gauges=[_breakers],
        description="The one door to Cordon: auth, roles, routing and limits.",
    )
    app.router.routes.append(
        StarletteRoute(f"{API_PREFIX}/{{path:path}}", _proxy, methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
    )
    app.add_middleware(limits.SecurityHeadersMiddleware)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["*"],
            allow_headers=["authorization", "content-type", "x-request-id", "x-api-key"], expose_headers=["x-request-id"],
        )
    @app.get("/openapi.json", include_in_schema=False)
    async def merged_openapi(request: Request) -> JSONResponse:
        return JSONResponse(await request.app.state.schema.get(apidoc.document(app, title="Cordon API")))

    app.add_api_route(
        "/.well-known/jwks.json", jwks.jwks, methods=["GET"], tags=["health-code", apidoc.GRID, apidoc.PARTNER],
        **apidoc.operation("健康码通行证公钥（JWKS）", "Public keys of health-code passes (JWKS), for scanners that verify offline"),
    )
    apidoc.serve_docs(app, title="Cordon API")
    console.serve_console(app)

    return app
