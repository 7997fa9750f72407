"""Request and response models of the notify service (docs/api.md)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from cordon import regions

Channel = Literal["inbox", "sms", "wechat", "webhook"]
Status = Literal["queued", "sent", "failed", "read", "acknowledged"]


class PersonLink(BaseModel):
    """A person a staff notice is about."""

    person_id: uuid.UUID
    region_code: str | None = None
    place: str | None = None  # the place by name
    name: str | None = None  # in full for staff whose places hold the person; masked otherwise


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
    place: str | None = None  # region_code by name
    person_id: uuid.UUID | None = None  # the person it is about
    people: list[PersonLink] = []  # a staff notice: every person it stands for (folded notices included)
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


class WorkItemRead(BaseModel):
    kind: Literal["lead", "follow_up", "test", "alert"]
    id: uuid.UUID
    person_id: uuid.UUID | None = None
    lead_id: uuid.UUID | None = None
    measure_id: uuid.UUID | None = None
    notification_id: uuid.UUID | None = None  # an alert: acknowledge it with POST /notifications/{id}/ack
    region_code: str
    place: str
    person_name: str | None = None
    due_at: datetime
    overdue: bool
    title: str


class WorkItemPage(BaseModel):
    items: list[WorkItemRead]
    next_cursor: str | None
