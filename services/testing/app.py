"""create_app() for the testing service."""

from __future__ import annotations

from fastapi import FastAPI

from cordon.app import create_service_app
from cordon.settings import Settings
from services.testing import clockwork, handlers
from services.testing.api import ROUTERS, hot


class TestingSettings(Settings):
    service = "testing"


def create_app(settings: TestingSettings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or TestingSettings(),
        routers=ROUTERS,
        consumers=handlers.CONSUMERS,
        tasks=[clockwork.run_daily, clockwork.run_retests],
        description="Nucleic-acid samples, pooled tubes, lab results, negative proofs and scheduled tests.",
        fast_paths=[hot.HotRoutes],
    )
