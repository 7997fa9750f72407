"""Event payloads, one module per producing service.

Each payload is a small past-tense class with its NATS ``subject`` and a
``version``; the envelope's ``type`` is ``subject.vN``. Adding a field keeps the
version; a breaking change is a new class with ``version + 1``, and consumers
upcast the old one (see ``upcast``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    subject: ClassVar[str]
    version: ClassVar[int] = 1

    @classmethod
    def type(cls) -> str:
        return f"{cls.subject}.v{cls.version}"


CATALOG: dict[str, type[Event]] = {}


def register(cls: type[Event]) -> type[Event]:
    """Class decorator: make an event decodable by its envelope ``type``."""
    CATALOG[cls.type()] = cls
    return cls


class UnknownEventType(LookupError):
    pass


def decode(event_type: str, data: dict[str, Any]) -> Event:
    """The payload class for ``event_type`` validated from ``data`` (raises ``UnknownEventType``)."""
    _load_all()
    try:
        cls = CATALOG[event_type]
    except KeyError:
        raise UnknownEventType(event_type) from None
    return cls.model_validate(data)


def _load_all() -> None:
    # Importing the producer modules registers their classes.
    from cordon.contracts import auth, events, notify, registry, testing  # noqa: F401
