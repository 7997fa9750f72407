"""create_app() for the registry service."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from cordon import keys, observability
from cordon.app import create_service_app
from cordon.settings import Settings, secret_file
from services.registry import clockwork, handlers
from services.registry.api import ROUTERS, hot
from services.registry.service import hot_reads, monitoring, passes


class RegistrySettings(Settings):
    service = "registry"

    ticker_interval_s: float = 30.0  # 0 turns the clockwork off (tests that move the clock tick by hand)
    # Health-code passes: Ed25519 keys named <kid>.pem (generated in dev), and how long a pass lasts.
    pass_keys_dir: Path | None = None
    pass_ttl_s: int = 180

    def dev_defaults(self) -> None:
        if self.pass_keys_dir is None and self.env == "dev":
            self.pass_keys_dir = self.home / "keys" / "pass"
            keys.ensure_pass_key(self.pass_keys_dir)

    def missing_secrets(self) -> list[str]:
        missing = super().missing_secrets()
        if self.env != "dev":
            if self.pass_keys_dir is None:
                missing.append("CORDON_PASS_KEYS_DIR")
            elif not any(self.pass_keys_dir.glob("*.pem")):
                missing.append(f"CORDON_PASS_KEYS_DIR (no <kid>.pem key in {self.pass_keys_dir})")
            else:
                missing += [wrong for key in sorted(self.pass_keys_dir.glob("*.pem"))
                            if (wrong := secret_file("CORDON_PASS_KEYS_DIR", key)) is not None]
        return missing


@contextlib.asynccontextmanager
async def _pass_keys(app: FastAPI):
    settings: RegistrySettings = app.state.settings
    assert settings.pass_keys_dir is not None
    app.state.pass_keys = passes.Keyring(settings.pass_keys_dir, ttl_s=settings.pass_ttl_s)
    app.state.pass_keys.signing(time.time())  # no key is a start-up error, not a 500 at the first pass
    yield


@contextlib.asynccontextmanager
async def _hot_reads(app: FastAPI):
    """The hot routes' reads, on the driver's pool (PostgreSQL only; on SQLite the ordinary routes serve)."""
    pool = app.state.driver_pool
    app.state.hot_reads = hot_reads.HotReads(pool) if pool is not None else None
    yield


async def _gauges(app: FastAPI) -> None:
    now = app.state.clock()
    async with app.state.sessionmaker() as session:
        observability.LEADS_OVERDUE.set(await monitoring.leads_overdue(session=session, now=now))
        observability.REPORTS_MISSING.set(await monitoring.reports_missing(session=session, now=now))


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    app = create_service_app(
        settings=settings or RegistrySettings(),
        routers=ROUTERS,
        consumers=handlers.CONSUMERS,
        tasks=[clockwork.run],
        contexts=[_pass_keys, _hot_reads],
        fast_paths=[hot.HotRoutes],
        gauges=[_gauges],
        description="People, regions, risk areas, travel records, the control-measure policy and health codes.",
    )

    @app.get("/.well-known/jwks.json", include_in_schema=False)
    async def jwks(request: Request) -> JSONResponse:
        """The public keys of health-code passes (the gateway publishes them at its root)."""
        return JSONResponse(request.app.state.pass_keys.jwks(time.time()), headers={"Cache-Control": "public, max-age=60"})

    return app
