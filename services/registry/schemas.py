"""Request and response bodies of the registry API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, StringConstraints

from cordon.bounds import AnyMoment, Count, Day, Moment, NotNull

Tag = Literal[
    "inbound", "returnee", "student", "migrant_worker", "high_risk_post", "high_risk_post_coworker", "high_risk_post_family",
    "elderly_care",
]
Kind = Literal["centralized_quarantine", "home_quarantine", "home_health_monitoring", "daily_health_monitoring"]
Color = Literal["green", "yellow", "red"]
Level = Literal["high", "medium", "low"]
Language = Literal["zh", "en"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PersonCreate(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id_number": "11010519491231002X", "name": "张三", "phone": "13800138000", "region_code": "320413",
        "address": "金坛区东城街道华城路 1 号", "tags": ["returnee"],
    }]})

    id_number: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=100)
    phone: str | None = Field(default=None, max_length=32)
    region_code: str = Field(min_length=6, max_length=15)
    address: str | None = Field(default=None, max_length=500)
    household: str | None = Field(default=None, min_length=1, max_length=64,
                                  description="户号: people of one county with the same key live together")
    tags: list[Tag] = []
    entry_date: Day | None = None
    language: Literal["zh", "en"] = "zh"


class PersonUpdate(_In):
    """Fields left out stay as they are; ``name``, ``region_code`` and ``language`` cannot be set to null."""

    name: Annotated[str | None, NotNull] = Field(default=None, min_length=1, max_length=100)
    phone: str | None = Field(default=None, max_length=32)
    region_code: Annotated[str | None, NotNull] = Field(default=None, min_length=6, max_length=15)
    address: str | None = Field(default=None, max_length=500)
    household: str | None = Field(default=None, min_length=1, max_length=64)
    tags: list[Tag] | None = None
    entry_date: Day | None = None
    language: Annotated[Literal["zh", "en"] | None, NotNull] = None


class HealthCodeSummary(BaseModel):
    color: Color
    updated_at: datetime


class PersonRead(BaseModel):
    id: uuid.UUID
    name: str
    name_masked: str = Field(description="张* / 欧**娜: what a screen shows before an official reveals the person")
    id_number_masked: str
    phone_masked: str | None
    region_code: str
    address: str | None
    household: str | None = None
    tags: list[Tag]
    entry_date: date | None
    language: Language
    health_code: HealthCodeSummary
    created_at: datetime
    updated_at: datetime
    # Only with ?reveal=true, for a role that may see them (audited).
    id_number: str | None = None
    phone: str | None = None


class PersonPage(BaseModel):
    items: list[PersonRead]
    next_cursor: str | None


class ReasonRead(BaseModel):
    rule: str
    detail: str
    until: date | None = None


class HealthCodeRead(BaseModel):
    person_id: uuid.UUID
    color: Color
    reasons: list[ReasonRead]
    updated_at: datetime


class RiskAreaPut(_In):
    level: Level
    name: str | None = Field(default=None, max_length=100)
    effective_from: AnyMoment | None = None
    local_cases: bool = Field(default=False, description="A county or province that reported local cases (本土病例), whatever its level.")


class RiskAreaRead(BaseModel):
    region_code: str
    level: Level
    local_cases: bool = False
    name: str | None
    effective_from: datetime
    updated_at: datetime
    affected_people: int | None = None


class RiskAreaPage(BaseModel):
    items: list[RiskAreaRead]
    next_cursor: str | None


class TravelRecordLine(BaseModel):
    """One record of a partner's travel push (one NDJSON line, or one item of a JSON array).

    Documentation of the line: the push checks each line itself (``domain/travel_lines.py``) and
    answers a bad one in ``rejected`` with its code, never refusing the good ones.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"record_id": "p-20220101-0001", "phone": "13800138000", "region_code": "420106",
                 "first_seen": "2022-01-01", "last_seen": "2022-01-03"},
            ]
        }
    )

    record_id: str = Field(min_length=1, max_length=128, description="the partner's own id: a repeat is a duplicate")
    phone: str | None = Field(default=None, description="a mainland mobile number; a phone or an id_number is required")
    id_number: str | None = Field(default=None, description="an 18-character resident ID number (GB 11643)")
    region_code: str = Field(pattern=r"^[0-9]{6}$", description="the 6-digit code of the place visited")
    first_seen: date | datetime = Field(description="a date (YYYY-MM-DD) or a time with offset, taken in China time")
    last_seen: date | datetime = Field(description="the day of leaving: not before first_seen")
    current_region_code: str | None = Field(
        default=None, pattern=r"^[0-9]{6}([0-9]{3}){0,3}$",
        description="where the person is now: a record that matches nobody registered and would trigger a rule "
                    "opens a lead (大数据推送排查) for this place, else for the partner's region",
    )


TRAVEL_PUSH_EXAMPLE = [
    {"record_id": "p-20220101-0001", "phone": "13800138000", "region_code": "420106",
     "first_seen": "2022-01-01", "last_seen": "2022-01-03", "current_region_code": "320413100201"},
    {"record_id": "p-20220101-0002", "id_number": "11010519491231002X", "region_code": "310101",
     "first_seen": "2022-01-02T08:00:00+08:00", "last_seen": "2022-01-02T20:00:00+08:00"},
]


class TravelDeclaration(_In):
    """``last_seen`` within the policy's travel window of today (checked by the service, which knows both)."""

    region_code: str = Field(min_length=6, max_length=15)
    first_seen: Day
    last_seen: Day


class TravelDeclarationRead(BaseModel):
    id: int
    region_code: str
    first_seen: date
    last_seen: date
    created_at: datetime


class MeasureRead(BaseModel):
    id: uuid.UUID
    person_id: uuid.UUID
    kind: Kind
    rule: str
    starts_on: date
    ends_on: date
    status: Literal["active", "scheduled", "released", "completed"]
    test_days: list[date]
    reason: str | None = None
    released_on: date | None = None
    release_blocked: Literal["negative_test_missing"] | None = Field(
        default=None, description="past ends_on and still active: the negative test its release needs is missing",
    )


class MeasureList(BaseModel):
    items: list[MeasureRead]


class MeasurePage(BaseModel):
    items: list[MeasureRead]
    next_cursor: str | None


class RuleAssignment(_In):
    """A rule the policy lets an official assign by hand (default close_contact, secondary_contact,
    spacetime_companion, released_contact_exposure), from the exposure date; any other is 422 rule_unknown."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"rule": "secondary_contact", "exposure_date": "2022-03-14"}]})

    rule: str = Field(min_length=1, max_length=40)
    exposure_date: Day


class ExplicitMeasure(_In):
    rule: None = None
    kind: Kind
    starts_on: Day
    days: int = Field(gt=0, le=365)
    reason: str = Field(min_length=1, max_length=500)


class CaseCreate(_In):
    """The CDC review of a positive (复核): a confirmed case or an asymptomatic infection."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "classification": "confirmed", "reviewed_at": "2022-03-15T10:00:00+08:00", "hospital": "常州市第三人民医院",
    }]})

    classification: Literal["confirmed", "asymptomatic"]
    reviewed_at: Moment
    hospital: str | None = Field(default=None, min_length=1, max_length=200)


class CaseDischarge(_In):
    discharged_on: Day


class CaseRead(BaseModel):
    id: uuid.UUID
    person_id: uuid.UUID
    classification: Literal["confirmed", "asymptomatic"]
    status: Literal["open", "discharged", "withdrawn"]
    reviewed_at: datetime
    hospital: str | None
    discharged_on: date | None
    created_at: datetime
    created_by: str
    # At discharge: the measures of the discharged_case chain that started from it.
    measures: list[MeasureRead] = []


class Release(_In):
    reason: str = Field(min_length=1, max_length=500)


class FollowUpCreate(_In):
    temperature: float = Field(ge=34.0, le=43.0)
    symptoms: list[str] = Field(default=[], max_length=20)
    note: str | None = Field(default=None, max_length=1000)


class FollowUpRead(BaseModel):
    id: uuid.UUID
    measure_id: uuid.UUID
    temperature: float
    symptoms: list[str]
    note: str | None
    recorded_at: datetime


class PolicyRead(BaseModel):
    version: int
    document: dict
    yaml: str | None
    changed_by: str | None
    changed_at: datetime | None


class PolicyVersionRead(BaseModel):
    version: int
    changed_by: str
    changed_at: datetime


class PolicyVersionPage(BaseModel):
    items: list[PolicyVersionRead]
    next_cursor: str | None


Duty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Username = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]


class StaffSet(RootModel[dict[Duty, Username | None]]):
    """A username per duty of the policy's roster (default 五包一: township_cadre, village_cadre, doctor, police,
    grid_worker); a duty left out or null is unfilled, a duty the policy does not name is 422 duty_unknown."""

    root: dict[Duty, Username | None] = Field(max_length=12)


class RosterRead(BaseModel):
    region_code: str
    staff: dict[str, str | None]
    missing: list[str]
    updated_at: datetime
    updated_by: str


class ResponsibleStaffRead(BaseModel):
    person_id: uuid.UUID
    staff: dict[str, str | None]
    missing: list[str]
    roster_region: str | None
    assigned_at: datetime
    assigned_by: str


class FollowUpSlotRead(BaseModel):
    person_id: uuid.UUID
    measure_id: uuid.UUID
    region_code: str
    date: date
    slot: str
    due_by: datetime
    status: str
    done_at: datetime | None


class FollowUpSlotPage(BaseModel):
    items: list[FollowUpSlotRead]
    next_cursor: str | None


class ReportCounts(_In):
    returnees_screened: Count
    under_control: Count
    fever: Count
    tests_taken: Count


class DailyReportCreate(_In):
    region_code: str = Field(min_length=6, max_length=15)
    date: Day
    zero: bool
    counts: ReportCounts | None = None
    note: str | None = Field(default=None, max_length=2000)


class DailyReportRead(BaseModel):
    region_code: str
    date: date
    status: Literal["submitted", "missing"]
    late: bool | None = None
    zero: bool | None = None
    counts: dict | None = None
    note: str | None = None
    submitted_at: datetime | None = None
    submitted_by: str | None = None


class DailyReportPage(BaseModel):
    items: list[DailyReportRead]
    next_cursor: str | None


class ReportTally(BaseModel):
    region_code: str
    name: str | None = None
    expected: int
    submitted: int
    late: int
    missing: int
    counts: dict[str, int]


class DailyReportSummary(ReportTally):
    """The place's reporting units on one day, and the same one level down (each child place holding units)."""

    date: date
    children: list[ReportTally]


class DailyReportDraft(BaseModel):
    region_code: str
    date: date
    counts: dict[str, int]
    leads: dict[str, int] = Field(default={}, description="big-data leads of the unit: {\"open\", \"overdue\"} (大数据排查线索)")


class AuditRead(BaseModel):
    id: int
    actor: str
    role: str
    action: str
    entity: str
    entity_id: str
    request_id: str | None
    at: datetime
    detail: dict | None = None  # an export's filter and row count


class AuditPage(BaseModel):
    items: list[AuditRead]
    next_cursor: str | None


class RegionLine(BaseModel):
    """One place of an import (one NDJSON line, one item of a JSON array, or one CSV row ``code,name``)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"code": "320413101", "name": "东城街道"}]})

    code: str = Field(pattern=r"^[0-9]{6}([0-9]{3}){0,3}$", description="6, 9, 12 or 15 digits; its parent must be known")
    name: str = Field(min_length=1)


class RegionPut(_In):
    name: str = Field(min_length=1, max_length=100)


class RegionRead(BaseModel):
    code: str
    name: str
    level: Literal["province", "city", "county", "township", "village", "grid"]
    parent: str | None


class RegionPage(BaseModel):
    items: list[RegionRead]
    next_cursor: str | None


class ColorCounts(BaseModel):
    green: int
    yellow: int
    red: int


class ReportStatus(BaseModel):
    expected: int = Field(description="reporting units (places with a roster)")
    submitted: int = Field(description="reports submitted for the day")
    late: int = Field(description="of those, submitted after the deadline (14:00 by the default policy)")


class DayCount(BaseModel):
    date: date
    count: int


class StatsFigures(BaseModel):
    people: int
    by_color: ColorCounts
    measures_active: dict[str, int]
    tests_overdue: int
    leads_open: int
    leads_overdue: int


class StatsOverview(StatsFigures):
    region_code: str | None = Field(description="the place counted; null: the whole country (an admin)")
    date: date
    follow_ups_missed: int = Field(description="follow-up slots of the day that ended without a follow-up")
    reports: ReportStatus
    positives_by_day: list[DayCount] = Field(description="the 14 days up to the date, oldest first")


class PlaceFigures(StatsFigures):
    region_code: str
    name: str | None = None
    reports: ReportStatus


class StatsByPlace(BaseModel):
    region_code: str | None
    date: date
    children: list[PlaceFigures]  # every place one level down (a breakdown, not a paged list)


class LeadReason(BaseModel):
    rule: str = Field(description="the rule the record would trigger, or assist_request for a listed person (协查)")
    detail: str


class LeadRead(BaseModel):
    """A big-data lead (大数据推送排查): someone to find and register, or to close with why not."""

    id: uuid.UUID
    region_code: str | None = Field(description="where the person is now; null: no place known (admins only)")
    phone_masked: str | None = None
    id_number_masked: str | None = None
    name: str | None = None
    source: Literal["travel_record", "import"]
    reasons: list[LeadReason]
    status: Literal["open", "closed"]
    outcome: Literal["registered", "unreachable", "left_area", "not_found", "already_handled"] | None = None
    note: str | None = None
    due_at: datetime
    overdue: bool
    assignee: str | None = None
    person_id: uuid.UUID | None = None
    created_at: datetime
    closed_at: datetime | None = None
    # Only with ?reveal=true, for a role that may see them (audited).
    id_number: str | None = None
    phone: str | None = None


class LeadPage(BaseModel):
    items: list[LeadRead]
    next_cursor: str | None


class LeadAssign(_In):
    username: str = Field(min_length=1, max_length=100, description="a grid worker or official of the lead's place")


class LeadOutcome(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [{"outcome": "left_area", "note": "已于 1 月 3 日返回武汉"}]})

    outcome: Literal["registered", "unreachable", "left_area", "not_found", "already_handled"]
    person_id: uuid.UUID | None = Field(default=None, description="the person registered (required for registered)")
    note: str | None = Field(default=None, max_length=1000)


class LeadLine(BaseModel):
    """One line of an imported list (协查函): CSV or XLSX with a header row, or NDJSON. Chinese headers
    姓名, 身份证号, 手机号, 所在地, 原因 are read as name, id_number, phone, region_code, reason."""

    name: str | None = Field(default=None, max_length=100)
    id_number: str | None = Field(default=None, description="an ID number or a phone is required")
    phone: str | None = None
    region_code: str | None = Field(default=None, description="the place where the person is now (the importer's own place if empty)")
    reason: str = Field(min_length=1, max_length=500)


LEAD_IMPORT_EXAMPLE = [
    {"name": "张三", "id_number": "11010519491231002X", "phone": "13800138000", "region_code": "320413100201",
     "reason": "武汉市协查：1 月 3 日曾在江汉区高风险地区停留"},
]


class TravelRecordRead(BaseModel):
    region_code: str
    first_seen: date
    last_seen: date
    source: Literal["partner", "declaration"]


class TravelRecordPage(BaseModel):
    items: list[TravelRecordRead]
    next_cursor: str | None
