"""The registry's tables."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cordon.db import JSONType, UTCDateTime, new_id, new_metadata

_Seq = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = new_metadata()


class Region(Base):
    """A place of the tree (province down to grid): code, name, level, and the place it lies in."""

    __tablename__ = "region"

    code: Mapped[str] = mapped_column(String(15), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(8))
    parent: Mapped[str | None] = mapped_column(String(15))

    __table_args__ = (Index("ix_region_parent_code", "parent", "code"),)


class Person(Base):
    """A resident. ID number and phone: blind index (lookups), ciphertext (reveal), masked form (answers)."""

    __tablename__ = "person"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    id_number_index: Mapped[str] = mapped_column(String(64), unique=True)
    id_number_enc: Mapped[str] = mapped_column(Text)
    id_number_masked: Mapped[str] = mapped_column(String(18))
    name: Mapped[str] = mapped_column(String(100), index=True)
    phone_index: Mapped[str | None] = mapped_column(String(64), index=True)
    phone_enc: Mapped[str | None] = mapped_column(Text)
    phone_masked: Mapped[str | None] = mapped_column(String(20))
    region_code: Mapped[str] = mapped_column(String(15))
    address: Mapped[str | None] = mapped_column(Text)
    # A household linked explicitly (户号): the people of one county with the same key live together,
    # whatever their addresses say.
    household: Mapped[str | None] = mapped_column(String(64), index=True)
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    entry_date: Mapped[date | None] = mapped_column(Date)
    language: Mapped[str] = mapped_column(String(5), default="zh")
    # Health state: what the code is derived from, and the code itself (one read serves it).
    is_case: Mapped[bool] = mapped_column(default=False)
    positive_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pool_positive_due_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue_since: Mapped[date | None] = mapped_column(Date)
    fever_celsius: Mapped[float | None] = mapped_column(Float)
    health_color: Mapped[str] = mapped_column(String(6), default="green")
    health_reasons: Mapped[list[dict]] = mapped_column(JSONType, default=list)
    health_updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    health_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # + 1 at each colour change
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(100))

    __table_args__ = (
        Index("ix_person_region_code_id", "region_code", "id"),
        Index("ix_person_health_color_id", "health_color", "id"),
        Index("ix_person_health_color_region_code_id", "health_color", "region_code", "id"),  # a colour within a place
    )


class HealthCode(Base):
    """The health-code read model: one row per person, kept by the transaction that changes the code
    (``service/health.py``); the hot routes read it through the driver (``service/hot_reads.py``)."""

    __tablename__ = "health_code"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    color: Mapped[str] = mapped_column(String(6))
    reasons: Mapped[list[dict]] = mapped_column(JSONType, default=list)
    until: Mapped[date | None] = mapped_column(Date)  # the last day the colour holds as things stand
    version: Mapped[int] = mapped_column(Integer)  # the person's health_version: passes of older ones are superseded
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    doc: Mapped[str] = mapped_column(Text)  # the answer of GET .../health-code, as sent


class PersonMove(Base):
    """A person moved to another place (转出/转入): kept, with who moved them; their history stays theirs."""

    __tablename__ = "person_move"

    id: Mapped[int] = mapped_column(_Seq, primary_key=True, autoincrement=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    from_region: Mapped[str] = mapped_column(String(15))
    to_region: Mapped[str] = mapped_column(String(15))
    moved_at: Mapped[datetime] = mapped_column(UTCDateTime)
    moved_by: Mapped[str] = mapped_column(String(100))

    __table_args__ = (Index("ix_person_move_person_id_id", "person_id", "id"),)


class PersonTag(Base):
    """Tags as rows, so a tag filter is an index range."""

    __tablename__ = "person_tag"

    tag: Mapped[str] = mapped_column(String(40), primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)


class RiskArea(Base):
    __tablename__ = "risk_area"

    region_code: Mapped[str] = mapped_column(String(15), primary_key=True)
    level: Mapped[str] = mapped_column(String(6))
    # A county or province that reported local cases (本土病例), whatever its level: the county rules read it.
    local_cases: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    name: Mapped[str | None] = mapped_column(String(100))
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(100))
    # When the people it affects were last re-evaluated; an area set for a later moment is
    # picked up by the clockwork once that moment passes.
    evaluated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TravelRecord(Base):
    """A place a person was, from a partner's push or their own declaration; matched to a person when known."""

    __tablename__ = "travel_record"

    seq: Mapped[int] = mapped_column(_Seq, primary_key=True, autoincrement=True)
    partner_id: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[str] = mapped_column(String(128))
    phone_index: Mapped[str | None] = mapped_column(String(64))
    id_number_index: Mapped[str | None] = mapped_column(String(64))
    person_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    region_code: Mapped[str] = mapped_column(String(15))
    first_seen: Mapped[date] = mapped_column(Date)
    last_seen: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Written in the record's own transaction: None while its person still has to be evaluated against it
    # (a matched record inside the travel window); the push, or else the clockwork, evaluates and sets it.
    evaluated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("partner_id", "record_id"),
        Index(
            "ix_travel_record_pending", "partner_id", "seq",
            postgresql_where=text("evaluated_at IS NULL"), sqlite_where=text("evaluated_at IS NULL"),
        ),
        Index("ix_travel_record_person_id_last_seen", "person_id", "last_seen"),
        Index("ix_travel_record_region_code_last_seen", "region_code", "last_seen"),
        Index("ix_travel_record_phone_index", "phone_index"),
        Index("ix_travel_record_id_number_index", "id_number_index"),
    )


class WaitingResult(Base):
    """A lab result for an ID number nobody has registered yet, kept by its blind index: applied in the
    transaction that registers the person (or by the clockwork, should the two cross)."""

    __tablename__ = "waiting_result"

    seq: Mapped[int] = mapped_column(_Seq, primary_key=True, autoincrement=True)
    id_number_index: Mapped[str] = mapped_column(String(64), index=True)
    sample_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    outcome: Mapped[str] = mapped_column(String(16))
    collected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retest_due_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    correction: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Exposure(Base):
    """A reason to serve a rule from a date (a gathering exposure, a close contact), kept until the person is known."""

    __tablename__ = "exposure"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    rule: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(80))
    exposed_on: Mapped[date] = mapped_column(Date)
    # Who: "person:<uuid>", "id:<blind index>" or "phone:<blind index>"; person_id once matched.
    subject: Mapped[str] = mapped_column(String(80), index=True)
    person_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("rule", "key", "subject"),)


class Measure(Base):
    __tablename__ = "measure"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    rule: Mapped[str] = mapped_column(String(40))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10))
    test_days: Mapped[list[str]] = mapped_column(JSONType, default=list)
    reason: Mapped[str | None] = mapped_column(Text)
    released_on: Mapped[date | None] = mapped_column(Date)
    released_by: Mapped[str | None] = mapped_column(String(100))
    # Past its end without the negative tests its release needs: it stays active, saying why (negative_test_missing).
    release_blocked: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_measure_person_id_starts_on", "person_id", "starts_on"),
        Index(
            "ix_measure_release_blocked", "person_id",
            postgresql_where=text("release_blocked IS NOT NULL"), sqlite_where=text("release_blocked IS NOT NULL"),
        ),
        Index("ix_measure_status_ends_on", "status", "ends_on"),
        Index("ix_measure_status_starts_on", "status", "starts_on"),
    )


class Case(Base):
    """A confirmed case or asymptomatic infection (确诊/无症状) an official recorded after the CDC review; open until
    discharged, or withdrawn when the lab corrects the positive it rests on."""

    __tablename__ = "case_record"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    classification: Mapped[str] = mapped_column(String(12))  # confirmed | asymptomatic
    status: Mapped[str] = mapped_column(String(12))  # open | discharged | withdrawn
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    hospital: Mapped[str | None] = mapped_column(String(200))
    positive_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the positive sample it rests on, if any
    discharged_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(100))

    __table_args__ = (Index("ix_case_record_person_id_created_at", "person_id", "created_at"),)


class PersonSample(Base):
    """A person's samples as testing tells them (collected, then their result): what release tests and the
    province rule's journey tests are read from."""

    __tablename__ = "person_sample"

    sample_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    collected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(16))  # pending | negative | positive | pool_positive | invalid

    __table_args__ = (Index("ix_person_sample_person_id_collected_at", "person_id", "collected_at"),)


class ServedTrigger(Base):
    """(person, trigger, kind) once served: re-evaluation never assigns it again."""

    __tablename__ = "served_trigger"

    person_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    trigger: Mapped[str] = mapped_column(String(120), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    measure_id: Mapped[uuid.UUID] = mapped_column(Uuid)


class FollowUp(Base):
    __tablename__ = "follow_up"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    measure_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("measure.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    temperature: Mapped[float] = mapped_column(Float)
    symptoms: Mapped[list[str]] = mapped_column(JSONType, default=list)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PolicyVersion(Base):
    """Every policy ever active: the highest version is the one in force."""

    __tablename__ = "policy_version"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    document: Mapped[dict] = mapped_column(JSONType)
    source_yaml: Mapped[str | None] = mapped_column(Text)
    changed_by: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Audit(Base):
    """Append-only: who revealed or changed what (no personal data in clear)."""

    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(_Seq, primary_key=True, autoincrement=True)
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    # What an export selected and how many rows it sent (no personal data).
    detail: Mapped[dict | None] = mapped_column(JSONType)

    __table_args__ = (
        Index("ix_audit_entity_entity_id", "entity", "entity_id"),
        Index("ix_audit_actor_at", "actor", "at"),
        Index("ix_audit_at", "at"),
    )


class Roster(Base):
    """A reporting unit's staff for each duty (usernames); a region with a roster is a reporting unit."""

    __tablename__ = "roster"

    region_code: Mapped[str] = mapped_column(String(15), primary_key=True)
    staff: Mapped[dict] = mapped_column(JSONType)  # {duty: username | None}
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(100))


class ResponsibleStaff(Base):
    """The five who answer for a controlled person (五包一)."""

    __tablename__ = "responsible_staff"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    staff: Mapped[dict] = mapped_column(JSONType)
    roster_region: Mapped[str | None] = mapped_column(String(15))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    assigned_by: Mapped[str] = mapped_column(String(100))


class FollowUpSlot(Base):
    """One follow-up due: a person, a day, a slot; done, missed, escalated."""

    __tablename__ = "follow_up_slot"

    id: Mapped[int] = mapped_column(_Seq, primary_key=True, autoincrement=True)
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    measure_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    region_code: Mapped[str] = mapped_column(String(15))
    due_on: Mapped[date] = mapped_column(Date)
    slot: Mapped[str] = mapped_column(String(20))
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10))  # due | done | missed | escalated
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    follow_up_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)

    __table_args__ = (
        UniqueConstraint("person_id", "due_on", "slot"),
        Index("ix_follow_up_slot_status_ends_at", "status", "ends_at"),
        Index("ix_follow_up_slot_region_code_status", "region_code", "status"),
    )


class DailyReport(Base):
    """日报告、零报告: one report per unit per day; a zero report says there is nothing to report."""

    __tablename__ = "daily_report"

    region_code: Mapped[str] = mapped_column(String(15), primary_key=True)
    report_on: Mapped[date] = mapped_column(Date, primary_key=True)
    zero: Mapped[bool] = mapped_column(Boolean)
    counts: Mapped[dict] = mapped_column(JSONType, default=dict)
    note: Mapped[str | None] = mapped_column(Text)
    late: Mapped[bool] = mapped_column(Boolean)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_by: Mapped[str] = mapped_column(String(100))


class ReportNotice(Base):
    """A reminder or a missing-report alert, sent once per unit, day and kind whatever the replicas."""

    __tablename__ = "report_notice"

    region_code: Mapped[str] = mapped_column(String(15), primary_key=True)
    report_on: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)  # reminder | missing
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DailyCount(Base):
    """Counts the registry learns from events (tests taken per region and day), for report drafts."""

    __tablename__ = "daily_count"

    region_code: Mapped[str] = mapped_column(String(15), primary_key=True)
    count_on: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class Lead(Base):
    """A big-data lead (大数据推送排查): someone a travel record or an imported list names who is not registered.

    Matched by blind index (``match_key``: the ID number's, else the phone's); one open lead per key, so
    several records of one person fold into one lead with all their reasons. Contact encrypted at rest.
    """

    __tablename__ = "lead"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    match_key: Mapped[str] = mapped_column(String(80))  # "id:<blind index>" or "phone:<blind index>"
    id_number_index: Mapped[str | None] = mapped_column(String(64))
    id_number_enc: Mapped[str | None] = mapped_column(Text)
    id_number_masked: Mapped[str | None] = mapped_column(String(18))
    phone_index: Mapped[str | None] = mapped_column(String(64))
    phone_enc: Mapped[str | None] = mapped_column(Text)
    phone_masked: Mapped[str | None] = mapped_column(String(20))
    name: Mapped[str | None] = mapped_column(String(100))
    region_code: Mapped[str | None] = mapped_column(String(15))  # None: admins only (no place known)
    source: Mapped[str] = mapped_column(String(16))  # travel_record | import
    reasons: Mapped[list[dict]] = mapped_column(JSONType, default=list)
    status: Mapped[str] = mapped_column(String(8))  # open | closed
    outcome: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    person_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    assignee: Mapped[str | None] = mapped_column(String(100))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when the clockwork told it overdue (once)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (
        Index("uq_lead_open_match_key", "match_key", unique=True,
              postgresql_where=text("status = 'open'"), sqlite_where=text("status = 'open'")),
        Index("ix_lead_region_code_created_at", "region_code", "created_at"),
        Index("ix_lead_status_created_at", "status", "created_at"),
        Index("ix_lead_due", "due_at", postgresql_where=text("status = 'open' AND overdue_at IS NULL"),
              sqlite_where=text("status = 'open' AND overdue_at IS NULL")),
        Index("ix_lead_phone_index", "phone_index"),
        Index("ix_lead_id_number_index", "id_number_index"),
    )


class LeadImportLine(Base):
    """One line of an imported list (协查函) once taken, by a digest of who, where and why: a re-import of the
    same list is answered as duplicates, whether its leads are still open or closed since."""

    __tablename__ = "lead_import_line"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    lead_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StaffRef(Base):
    """A staff user as the gateway announces them (auth.user.*): whom a lead may be assigned to."""

    __tablename__ = "staff_ref"

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    regions: Mapped[list[str]] = mapped_column(JSONType, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


# The command office's read model (services/registry/service/stats.py): kept from events only — the
# registry's own (people, codes, measures, leads, follow-ups) and testing's (overdue tests, positives) — so
# a count is a sum of a few counters per place, never a count of person rows per request.


class StatsPerson(Base):
    """What the counters know of one person: where, which colour, since when a test is overdue."""

    __tablename__ = "stats_person"

    person_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    region_code: Mapped[str] = mapped_column(String(15))
    color: Mapped[str] = mapped_column(String(6))
    overdue_since: Mapped[date | None] = mapped_column(Date)
    id_number_index: Mapped[str | None] = mapped_column(String(64), index=True)
    region_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the event time each part was written from
    color_at: Mapped[datetime] = mapped_column(UTCDateTime)
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StatsMeasure(Base):
    __tablename__ = "stats_measure"

    measure_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class StatsLead(Base):
    __tablename__ = "stats_lead"

    lead_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    region_code: Mapped[str] = mapped_column(String(15))  # "" when the lead has no place (admins only)
    open: Mapped[bool] = mapped_column(Boolean)
    overdue: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class StatsPositive(Base):
    """A positive sample counted once (its relinked copy and redeliveries are not counted again)."""

    __tablename__ = "stats_positive"

    sample_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    region_code: Mapped[str] = mapped_column(String(15))
    on: Mapped[date] = mapped_column(Date)


class StatsCount(Base):
    """A counter of one place (the person's own code: village, grid, ...): people, color.*, measure.*,
    tests_overdue, leads_open, leads_overdue. A region's figure is the sum over its prefix range."""

    __tablename__ = "stats_count"

    region_code: Mapped[str] = mapped_column(String(15), primary_key=True)
    metric: Mapped[str] = mapped_column(String(48), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class StatsDaily(Base):
    """A counter of one place and day: positives, follow_ups_missed."""

    __tablename__ = "stats_daily"

    region_code: Mapped[str] = mapped_column(String(15), primary_key=True)
    on: Mapped[date] = mapped_column(Date, primary_key=True)
    metric: Mapped[str] = mapped_column(String(24), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
