"""The gateway's merged OpenAPI, built in-process from every app (no server, no database opened)."""

from __future__ import annotations

import importlib

from cordon import services
from cordon.settings import SERVICES
from gateway import openapi


def app(name: str):
    module, factory = services.app_path(name).split(":")
    return getattr(importlib.import_module(module), factory)(services.settings(name))


def documents() -> dict[str, dict]:
    return {name: app(name).openapi() for name in SERVICES if name != "gateway"}


def merged() -> dict:
    from cordon import apidoc

    return openapi.merge(apidoc.document(app("gateway"), title="Cordon API"), documents())
