"""Request and response models of the notify service (docs/api.md)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from cordon import regions

Channel = Literal["inbox", "sms", "wechat", "webhook"]
Status = Literal["queued", "sent", "failed", "read", "acknowledged"]


class NotificationRead(BaseModel):
    id: uuid.UUID
    kind: str
    recipient: str
    channel: Channel
    status: Status
    title: str
    body: str
    created_at: datetime
    attempts: int
    urgent: bool = False
    count: int = 1  # notices folded into this one inside the collapse window
    region_code: str | None = None
    sent_at: datetime | None = None
    read_at: datetime | None = None
    acknowledged_at: datetime | None = None
    last_error: str | None = None


class NotificationPage(BaseModel):
    items: list[NotificationRead]
    next_cursor: str | None


class BroadcastCreate(BaseModel):
    region_code: str
    title: str = Field(min_length=1, max_length=100)
    body: str = Field(min_length=1, max_length=1000)
    channels: list[Literal["inbox", "sms", "wechat"]] = Field(default=["inbox", "sms"], min_length=1)

    @field_validator("region_code")
    @classmethod
    def _region(cls, value: str) -> str:
        if not regions.is_region_code(value):
            raise ValueError("not a region code of 6, 9, 12 or 15 digits")
        return value

    @field_validator("channels")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class BroadcastRead(BaseModel):
    id: uuid.UUID
    region_code: str
    title: str
    body: str
    channels: list[str]
    status: Literal["fanning_out", "fanned_out"]
    recipients: int  # people reached by the fan-out so far
    notifications: dict[str, int] = {}  # by status
    created_by: str
    created_at: datetime
    fanned_out_at: datetime | None = None
