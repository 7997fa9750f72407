"""The CloudEvents 1.0 envelope every message on the bus carries (docs/api.md, events)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from cordon import contracts
from cordon.clock import utcnow


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: uuid.UUID
    source: str
    type: str = Field(pattern=r"^[a-z_]+(\.[a-z_]+)+\.v[0-9]+$")
    subject: str
    time: datetime
    datacontenttype: Literal["application/json"] = "application/json"
    data: dict[str, Any]
    # CloudEvents extension: the X-Request-ID of the request that caused the event.
    requestid: str | None = None

    @property
    def nats_subject(self) -> str:
        return self.type.rsplit(".v", 1)[0]

    def to_json(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json", exclude_none=True))

    @classmethod
    def from_json(cls, raw: bytes) -> Envelope:
        return cls.model_validate_json(raw)

    def event(self) -> contracts.Event:
        return contracts.decode(self.type, self.data)


def wrap(event: contracts.Event, *, source: str, key: str, request_id: str | None = None) -> Envelope:
    """A new envelope for ``event`` about the aggregate ``key``."""
    return Envelope(
        id=uuid.uuid4(),
        source=source,
        type=event.type(),
        subject=key,
        time=utcnow(),
        data=event.model_dump(mode="json"),
        requestid=request_id,
    )
