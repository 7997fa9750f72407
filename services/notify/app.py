"""create_app() for the notify service."""

from __future__ import annotations

from fastapi import FastAPI

from cordon.app import create_service_app
from cordon.settings import Settings
from services.notify import handlers


class NotifySettings(Settings):
    service = "notify"


def create_app(settings: NotifySettings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or NotifySettings(),
        routers=[],
        consumers=handlers.CONSUMERS,
        description="Notifications to residents and staff: channels, retries, acknowledgement and escalation.",
    )
