"""create_app() for the events service."""

from __future__ import annotations

from fastapi import FastAPI

from cordon.app import create_service_app
from cordon.settings import Settings
from services.events import handlers
from services.events.api import ROUTERS


class EventsSettings(Settings):
    service = "events"


def create_app(settings: EventsSettings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or EventsSettings(),
        routers=ROUTERS,
        consumers=handlers.CONSUMERS,
        description="Gathering filing and approval, check-ins and exposure detection.",
    )
