"""Request and response models of the testing API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints, model_validator

from cordon.bounds import Moment

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


SAMPLE_EXAMPLE = {"barcode": "S2022010100001", "id_number": "11010519491231002X", "collected_at": "2022-01-01T08:30:00+08:00",
                  "site": "金坛区人民医院采样点", "tube_id": "T2022010100001"}
RESULT_EXAMPLE = {"tube_id": "T2022010100001", "result": "negative", "tested_at": "2022-01-01T20:00:00+08:00",
                  "lab": "常州市疾控中心实验室"}


class SampleCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [SAMPLE_EXAMPLE]})

    barcode: Code
    id_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
    collected_at: Moment
    site: Name
    tube_id: Code | None = None


class SampleRead(BaseModel):
    """A sample as staff, labs and the resident see it: the ID number masked."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    barcode: str
    id_number_masked: str
    person_id: uuid.UUID | None
    collected_at: datetime
    site: str
    tube_id: str | None
    status: Literal["pending", "negative", "positive", "pool_positive", "invalid"]
    tested_at: datetime | None
    lab: str | None
    retest_due_by: datetime | None


class ResultCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [RESULT_EXAMPLE]})

    tube_id: Code | None = None
    barcode: Code | None = None
    result: Literal["negative", "positive", "invalid"]
    tested_at: Moment
    lab: Name
    correction: bool = False
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)] | None = None

    @model_validator(mode="after")
    def _one_target_and_a_reason(self) -> ResultCreate:
        if (self.tube_id is None) == (self.barcode is None):
            raise ValueError("give either tube_id or barcode")
        if self.correction and not self.reason:
            raise ValueError("a correction needs a reason")
        return self

    @property
    def target(self) -> tuple[str, str]:
        return ("tube", self.tube_id) if self.tube_id is not None else ("barcode", self.barcode)


class ResultRead(BaseModel):
    target_kind: Literal["tube", "barcode"]
    target: str
    result: Literal["negative", "positive", "invalid"]
    tested_at: datetime
    lab: str
    corrected: bool = False
    samples: list[SampleRead]


class SamplePage(BaseModel):
    items: list[SampleRead]
    next_cursor: str | None


class NegativeProofRead(BaseModel):
    valid: bool
    collected_at: datetime | None = None
    barcode: str | None = None
    within_hours: int


class ScheduleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    person_id: uuid.UUID
    measure_id: uuid.UUID  # for a recurring test by tag: the person's series of that tag
    region_code: str
    due_on: date
    status: Literal["due", "overdue"]
    tag: str | None = None  # a recurring test by tag (high_risk_post...), not of a measure


class SchedulePage(BaseModel):
    items: list[ScheduleRead]
    next_cursor: str | None


class ScheduleRun(BaseModel):
    due: int
    overdue: int
    retests_overdue: int = 0  # pool-positive people told overdue for their single-tube retest
