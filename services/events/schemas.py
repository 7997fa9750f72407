"""Request and response bodies of the gatherings API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cordon.bounds import Moment
from cordon.policy import GATHERING_KINDS

Kind = Literal[GATHERING_KINDS]  # type: ignore[valid-type]
Status = Literal["recorded", "filed", "pending_approval", "approved", "rejected", "cancelled"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OrganizerIn(_In):
    name: str = Field(min_length=1, max_length=100)
    phone: str = Field(min_length=1, max_length=32)


class Venue(_In):
    address: str = Field(min_length=1, max_length=500)
    region_code: str = Field(min_length=6, max_length=15)


class GatheringCreate(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "title": "王家婚宴", "kind": "wedding", "organizer": {"name": "王建国", "phone": "13900139000"},
        "venue": {"address": "金坛区东城街道华城路 1 号", "region_code": "320413"},
        "starts_at": "2022-01-08T11:00:00+08:00", "ends_at": "2022-01-08T14:00:00+08:00",
        "expected_attendees": 80, "tables": 8, "prevention_plan": "入场测温、查验健康码……", "emergency_plan": "发现发热人员……",
    }]})

    title: str = Field(min_length=1, max_length=200)
    kind: Kind
    organizer: OrganizerIn
    venue: Venue
    starts_at: Moment
    ends_at: Moment
    # Sign and the banquet rules are checked by the domain (services.events.domain.thresholds).
    expected_attendees: int = Field(le=1_000_000)
    tables: int | None = Field(default=None, le=10_000)
    prevention_plan: str | None = Field(default=None, max_length=20_000)
    emergency_plan: str | None = Field(default=None, max_length=20_000)

    def plans(self) -> set[str]:
        return {name for name in ("prevention_plan", "emergency_plan") if (getattr(self, name) or "").strip()}


class Decision(_In):
    reason: str | None = Field(default=None, max_length=2000)


class Rejection(_In):
    reason: str = Field(min_length=1, max_length=2000)


class CheckInCreate(_In):
    id_number: str | None = Field(default=None, min_length=1, max_length=32)
    phone: str | None = Field(default=None, min_length=1, max_length=32)

    @model_validator(mode="after")
    def _one_of(self) -> CheckInCreate:
        if (self.id_number is None) == (self.phone is None):
            raise ValueError("give either id_number or phone")
        return self


class OrganizerRead(BaseModel):
    name: str
    phone_masked: str


class WarningRead(BaseModel):
    code: str
    message: str


class GatheringRead(BaseModel):
    id: uuid.UUID
    title: str
    kind: Kind
    organizer: OrganizerRead
    venue: Venue
    starts_at: datetime
    ends_at: datetime
    gathering_on: date  # China Standard Time
    expected_attendees: int
    tables: int | None
    prevention_plan: str | None
    emergency_plan: str | None
    requirement: Literal["none", "filing", "approval"]
    status: Status
    warnings: list[WarningRead]
    exposure: bool
    checked_in: int
    over_capacity: bool
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    cancelled_by: str | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    created_at: datetime
    updated_at: datetime


class GatheringPage(BaseModel):
    items: list[GatheringRead]
    next_cursor: str | None


class CheckInRead(BaseModel):
    id: uuid.UUID
    gathering_id: uuid.UUID
    seq: int
    id_number_masked: str | None
    phone_masked: str | None
    over_capacity: bool
    checked_in_at: datetime
    repeat: bool = False  # true when this person had already checked in: the earlier check-in is returned


class AttendeePage(BaseModel):
    items: list[CheckInRead]
    next_cursor: str | None


class PersonGatheringRead(BaseModel):
    gathering_id: uuid.UUID
    title: str
    kind: Kind
    region_code: str
    starts_at: datetime
    status: Status
    exposure: bool = Field(description="a positive attendee was found at this gathering")
    checked_in_at: datetime


class PersonGatheringPage(BaseModel):
    items: list[PersonGatheringRead]
    next_cursor: str | None
