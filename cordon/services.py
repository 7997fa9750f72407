"""Where each process's app and settings live: one table the CLI, the runner and the tests share."""

from __future__ import annotations

import importlib

from cordon.settings import SERVICES, Settings

_PACKAGES = {name: ("gateway" if name == "gateway" else f"services.{name}") for name in SERVICES}


def package(name: str) -> str:
    return _PACKAGES[name]


def app_path(name: str) -> str:
    """The uvicorn factory path, e.g. 'services.registry.app:create_app'."""
    return f"{_PACKAGES[name]}.app:create_app"


def settings_class(name: str) -> type[Settings]:
    module = importlib.import_module(f"{_PACKAGES[name]}.app")
    return getattr(module, f"{name.capitalize()}Settings")


def settings(name: str) -> Settings:
    return settings_class(name)()


def database_urls() -> dict[str, str]:
    return {name: settings(name).database_url for name in SERVICES}
