"""Events published by the events (gatherings) service (subjects gatherings.*)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import ClassVar

from pydantic import BaseModel

from cordon.contracts import Event, register


class GatheringFacts(Event):
    gathering_id: uuid.UUID
    title: str
    kind: str
    region_code: str
    status: str
    requirement: str
    starts_at: datetime
    ends_at: datetime
    expected_attendees: int
    organizer_phone_index: str | None = None
    organizer_phone_enc: str | None = None  # for notify to reach an organiser who is not registered
    by: str | None = None  # the user who made the move
    reason: str | None = None


@register
class GatheringSubmitted(GatheringFacts):
    subject: ClassVar[str] = "gatherings.gathering.submitted"


@register
class GatheringApproved(GatheringFacts):
    subject: ClassVar[str] = "gatherings.gathering.approved"


@register
class GatheringRejected(GatheringFacts):
    subject: ClassVar[str] = "gatherings.gathering.rejected"


@register
class GatheringCancelled(GatheringFacts):
    subject: ClassVar[str] = "gatherings.gathering.cancelled"


class Attendee(BaseModel):
    """An attendee as other services may know them: blind indexes only."""

    id_number_index: str | None = None
    phone_index: str | None = None
    checked_in_at: datetime


@register
class ExposureDetected(Event):
    """A person who tested positive had checked in at this gathering within the policy's window."""

    subject: ClassVar[str] = "gatherings.exposure.detected"
    gathering_id: uuid.UUID
    title: str
    region_code: str
    gathering_on: date
    positive_person_id: uuid.UUID | None = None
    positive_id_number_index: str
    sample_collected_at: datetime
    attendees: list[Attendee]
