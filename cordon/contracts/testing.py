"""Events published by the testing service (subjects testing.*)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import ClassVar, Literal

from cordon.contracts import Event, register

Outcome = Literal["negative", "positive", "pool_positive", "invalid"]


@register
class SampleCollected(Event):
    subject: ClassVar[str] = "testing.sample.collected"
    sample_id: uuid.UUID
    barcode: str
    person_id: uuid.UUID | None = None  # None until the registry's person is known
    id_number_index: str
    collected_at: datetime
    site: str
    tube_id: str | None = None


@register
class ResultRecorded(Event):
    """A result reached a person (one event per person, also for each member of a pooled tube)."""

    subject: ClassVar[str] = "testing.result.recorded"
    sample_id: uuid.UUID
    barcode: str
    tube_id: str | None = None
    person_id: uuid.UUID | None = None
    id_number_index: str
    region_code: str | None = None
    outcome: Outcome
    collected_at: datetime
    tested_at: datetime
    lab: str
    retest_due_by: datetime | None = None  # pool_positive: the single-tube retest deadline
    correction: bool = False
    correction_reason: str | None = None
    # True: the result was told before testing knew the person (person_id None then); this tells it again,
    # now with the person. Notify tells the person once whichever copy finds them; the registry applied
    # the first copy already (or kept it for the registration).
    relinked: bool = False


@register
class RetestOverdue(Event):
    """A pool-positive person took no single-tube retest by its deadline (told once per pooled sample)."""

    subject: ClassVar[str] = "testing.retest.overdue"
    sample_id: uuid.UUID
    person_id: uuid.UUID | None = None
    id_number_index: str
    region_code: str | None = None
    collected_at: datetime
    retest_due_by: datetime


class ScheduleFacts(Event):
    schedule_id: uuid.UUID
    person_id: uuid.UUID
    region_code: str
    measure_id: uuid.UUID  # the measure; for a recurring test by tag, the person's series of that tag
    due_on: date
    at_door: bool = False  # under quarantine: sampled at the door, not at a sampling site
    tag: str | None = None  # a recurring test of a person tagged so (high_risk_post...), not of a measure


@register
class ScheduleDue(ScheduleFacts):
    subject: ClassVar[str] = "testing.schedule.due"


@register
class ScheduleOverdue(ScheduleFacts):
    subject: ClassVar[str] = "testing.schedule.overdue"


@register
class ScheduleFulfilled(ScheduleFacts):
    """A sample fulfilled a scheduled test."""

    subject: ClassVar[str] = "testing.schedule.fulfilled"


@register
class ScheduleCancelled(ScheduleFacts):
    """A scheduled test is no longer asked for: its measure was released, or reassigned with other days."""

    subject: ClassVar[str] = "testing.schedule.cancelled"
