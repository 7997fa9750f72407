"""create_app() for the registry service."""

from __future__ import annotations

from fastapi import FastAPI

from cordon.app import create_service_app
from cordon.settings import Settings
from services.registry import clockwork, handlers
from services.registry.api import ROUTERS


class RegistrySettings(Settings):
    service = "registry"

    ticker_interval_s: float = 30.0  # 0 turns the clockwork off (tests that move the clock tick by hand)


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or RegistrySettings(),
        routers=ROUTERS,
        consumers=handlers.CONSUMERS,
        tasks=[clockwork.run],
        description="People, regions, risk areas, travel records, the control-measure policy and health codes.",
    )
