"""Events published by the registry service (subjects registry.*)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import BaseModel

from cordon.contracts import Event, register

Color = Literal["green", "yellow", "red"]
MeasureKind = Literal["centralized_quarantine", "home_quarantine", "home_health_monitoring", "daily_health_monitoring"]


class PersonFacts(Event):
    """What other services may know of a person: region, masked contact, blind indexes.

    ``phone_enc`` is the phone encrypted under the deployment's shared key, for the
    notify service to send an SMS; no event carries an ID number or phone in clear.
    """

    person_id: uuid.UUID
    region_code: str
    id_number_index: str
    id_number_masked: str
    phone_index: str | None = None
    phone_masked: str | None = None
    phone_enc: str | None = None
    name_masked: str = ""
    # The name encrypted under the shared key like ``phone_enc``: notify shows it in full, decrypted at read
    # time, only to staff whose places hold the person (everyone else reads ``name_masked``).
    name_enc: str | None = None
    tags: list[str] = []
    language: str = "zh"


@register
class PersonRegistered(PersonFacts):
    subject: ClassVar[str] = "registry.person.registered"


@register
class PersonUpdated(PersonFacts):
    subject: ClassVar[str] = "registry.person.updated"


class MeasureFacts(Event):
    measure_id: uuid.UUID
    person_id: uuid.UUID
    region_code: str
    kind: MeasureKind
    rule: str
    starts_on: date
    ends_on: date
    status: Literal["active", "scheduled", "released", "completed"]
    test_days: list[date] = []
    # The people living with the person, tested on ``household_test_days`` ("4+1": with the last test of
    # an inbound person's home quarantine), as the policy says.
    household: list[uuid.UUID] = []
    household_test_days: list[date] = []
    release_blocked: str | None = None  # past its end, still active: the negative its release needs is missing


@register
class MeasureAssigned(MeasureFacts):
    """A measure was assigned or extended (a later ``ends_on`` for the same measure id)."""

    subject: ClassVar[str] = "registry.measure.assigned"


@register
class MeasureStarted(MeasureFacts):
    """A measure assigned for a later day began (scheduled -> active), on its first day."""

    subject: ClassVar[str] = "registry.measure.started"


@register
class MeasureReleased(MeasureFacts):
    subject: ClassVar[str] = "registry.measure.released"
    reason: str = ""
    released_on: date


@register
class MeasureCompleted(MeasureFacts):
    subject: ClassVar[str] = "registry.measure.completed"


@register
class MeasureReleaseBlocked(MeasureFacts):
    """A measure reached its end without the negative test its release needs: it stays active, and the person's
    responsible staff (``notify``, usernames) are told once."""

    subject: ClassVar[str] = "registry.measure.release_blocked"
    notify: list[str] = []


class CaseFacts(Event):
    """A case after the CDC review (确诊/无症状): ``notify`` names the person's responsible staff (usernames); the
    officials of ``county_code`` are told as well."""

    case_id: uuid.UUID
    person_id: uuid.UUID
    region_code: str
    county_code: str | None = None
    classification: Literal["confirmed", "asymptomatic"]
    status: Literal["open", "discharged", "withdrawn"]
    reviewed_at: datetime
    hospital: str | None = None
    discharged_on: date | None = None
    notify: list[str] = []
    by: str


@register
class CaseConfirmed(CaseFacts):
    subject: ClassVar[str] = "registry.case.confirmed"


@register
class CaseDischarged(CaseFacts):
    """Discharged from hospital (出院): the ``discharged_case`` measures start from ``discharged_on``."""

    subject: ClassVar[str] = "registry.case.discharged"


@register
class CaseWithdrawn(CaseFacts):
    """The lab corrected the positive the case rested on: the case no longer stands."""

    subject: ClassVar[str] = "registry.case.withdrawn"


class Reason(BaseModel):
    rule: str
    detail: str
    until: date | None = None


@register
class HealthCodeChanged(Event):
    subject: ClassVar[str] = "registry.healthcode.changed"
    person_id: uuid.UUID
    region_code: str
    color: Color
    previous: Color | None = None
    reasons: list[Reason] = []


@register
class TestOverdueChanged(Event):
    """A person's scheduled test became overdue (``overdue_since``: the earliest untested overdue day), or no
    longer is (None: a sample was taken, or the measure that asked for it was released)."""

    subject: ClassVar[str] = "registry.overdue.changed"
    person_id: uuid.UUID
    region_code: str
    overdue_since: date | None = None


@register
class RiskAreaChanged(Event):
    subject: ClassVar[str] = "registry.riskarea.changed"
    region_code: str
    level: Literal["high", "medium", "low"]
    previous_level: Literal["high", "medium", "low"] | None = None
    name: str | None = None
    effective_from: datetime
    local_cases: bool = False  # the place (a county or province) reported local cases, whatever its level


class Place(BaseModel):
    code: str
    name: str
    level: Literal["province", "city", "county", "township", "village", "grid"]
    parent: str | None = None


@register
class RegionChanged(Event):
    """Places of the tree were created or renamed (one by PUT, up to a thousand per event from an import):
    other services keep their copies of place names current from it."""

    subject: ClassVar[str] = "registry.region.changed"
    places: list[Place]
    by: str


@register
class PolicyChanged(Event):
    """The active policy document changed; other services take their thresholds from it."""

    subject: ClassVar[str] = "registry.policy.changed"
    policy_version: int
    document: dict
    changed_by: str


@register
class StaffAssigned(Event):
    """A controlled person's five responsible staff (五包一) were set; ``missing`` names empty duties."""

    subject: ClassVar[str] = "registry.staff.assigned"
    person_id: uuid.UUID
    region_code: str
    roster_region: str | None = None
    staff: dict[str, str | None]
    missing: list[str] = []
    by: str | None = None  # an official who set them by hand; None when taken from the roster


class FollowUpFacts(Event):
    person_id: uuid.UUID
    region_code: str
    measure_id: uuid.UUID
    on: date
    slot: str
    due_by: datetime
    notify: list[str]  # staff usernames to tell


@register
class FollowUpDue(FollowUpFacts):
    """A follow-up slot opened for the day (the clockwork's daily slots): due by ``due_by``."""

    subject: ClassVar[str] = "registry.followup.due"


@register
class FollowUpDone(FollowUpFacts):
    """A follow-up fulfilled its slot (the slot is done, whether or not it had been opened)."""

    subject: ClassVar[str] = "registry.followup.done"


@register
class FollowUpMissed(FollowUpFacts):
    """A follow-up slot ended without a follow-up: the responsible grid worker is told."""

    subject: ClassVar[str] = "registry.followup.missed"


@register
class FollowUpEscalated(FollowUpFacts):
    """Still missing after the policy's grace: the village cadre and the region's officials are told."""

    subject: ClassVar[str] = "registry.followup.escalated"


class ReportFacts(Event):
    region_code: str
    on: date
    deadline_at: datetime


@register
class ReportReminded(ReportFacts):
    """A reporting unit has not reported and the deadline is near."""

    subject: ClassVar[str] = "registry.report.reminded"
    notify: list[str] = []


@register
class ReportMissing(ReportFacts):
    """The deadline passed without the unit's report: its parent region's officials are told."""

    subject: ClassVar[str] = "registry.report.missing"
    parent_region: str | None = None


@register
class ReportSubmitted(ReportFacts):
    subject: ClassVar[str] = "registry.report.submitted"
    late: bool
    zero: bool
    by: str


class LeadReason(BaseModel):
    rule: str
    detail: str


class LeadFacts(Event):
    """A big-data lead (大数据推送排查): someone a record or a list names, not found among the registered.

    Carries where the lead is (``region_code``; None: admins only), its due time and reasons, and the
    masked contact; never an ID number or phone in clear.
    """

    lead_id: uuid.UUID
    region_code: str | None = None
    source: Literal["travel_record", "import"]
    reasons: list[LeadReason] = []
    due_at: datetime
    phone_masked: str | None = None
    id_number_masked: str | None = None
    name_masked: str | None = None


@register
class LeadOpened(LeadFacts):
    """A lead was opened, or an open lead gained reasons (a later record of the same phone or ID number)."""

    subject: ClassVar[str] = "registry.lead.opened"


@register
class LeadClosed(LeadFacts):
    """A lead was closed with its outcome: found and registered (``person_id``), or why not."""

    subject: ClassVar[str] = "registry.lead.closed"
    outcome: Literal["registered", "unreachable", "left_area", "not_found", "already_handled"]
    person_id: uuid.UUID | None = None
    closed_by: str | None = None  # None: closed by the registration that found the person


@register
class LeadOverdue(LeadFacts):
    """An open lead passed its due time (told once): the officials of its county are alerted."""

    subject: ClassVar[str] = "registry.lead.overdue"
    county_code: str | None = None
    assignee: str | None = None
