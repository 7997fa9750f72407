"""Where each process's app and settings live, by name: the ``cordon.services`` entry points.

pyproject.toml maps each name (``registry``, ..., ``gateway``) to its ``create_app``; the
CLI, the runner and the tests look processes up here. The kernel itself never imports a
service or the gateway (an import contract checks it): it only reads the entry points.
"""

from __future__ import annotations

import importlib
from functools import cache
from importlib.metadata import EntryPoint, entry_points

from cordon.settings import SERVICES, MissingSecrets, Settings, database_url, refusal

GROUP = "cordon.services"


@cache
def _entry(name: str) -> EntryPoint:
    found = entry_points(group=GROUP, name=name)
    if not found:
        raise LookupError(f"no {name!r} among the {GROUP} entry points: reinstall Cordon (make install)")
    return next(iter(found))


def package(name: str) -> str:
    """The package of process ``name``, e.g. 'services.registry' (its migrations live there)."""
    return _entry(name).module.rsplit(".", 1)[0]


def app_path(name: str) -> str:
    """The uvicorn factory path, e.g. 'services.registry.app:create_app'."""
    return _entry(name).value


def settings_class(name: str) -> type[Settings]:
    module = importlib.import_module(_entry(name).module)
    return getattr(module, f"{name.capitalize()}Settings")


def settings(name: str) -> Settings:
    return settings_class(name)()


def database_urls() -> dict[str, str]:
    """Every process's database (migrations need no other secret)."""
    return {name: database_url(name) for name in SERVICES}


def refusals(names=SERVICES, **overrides) -> list[str]:
    """One line for each process among ``names`` whose settings refuse to start (each missing secret named)."""
    from pydantic import ValidationError

    lines = []
    for name in names:
        try:
            settings_class(name)(**overrides)
        except (ValidationError, MissingSecrets) as exc:
            lines.append(refusal(exc, name))
    return lines
