"""The testing service's tables: samples and their tubes, lab results, the proof summary, schedules,
and the projection of the registry's people (``person_ref``)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cordon.db import UTCDateTime, new_metadata

_Seq = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = new_metadata()


class PersonRef(Base):
    """What testing knows of a registry person (from registry.person.registered/.updated)."""

    __tablename__ = "person_ref"

    person_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    id_number_index: Mapped[str] = mapped_column(String(64), unique=True)
    id_number_masked: Mapped[str] = mapped_column(String(18))
    phone_index: Mapped[str | None] = mapped_column(String(64), index=True)
    region_code: Mapped[str] = mapped_column(String(15))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Sample(Base):
    """One swab. The ID number read at the sampling point is kept only as blind index and masked form."""

    __tablename__ = "sample"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    barcode: Mapped[str] = mapped_column(String(64), unique=True)
    id_number_index: Mapped[str] = mapped_column(String(64), index=True)
    id_number_masked: Mapped[str] = mapped_column(String(18))
    person_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # None until the registry knows the person
    collected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    site: Mapped[str] = mapped_column(String(200))
    tube_id: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))  # pending, negative, positive, pool_positive, invalid
    tested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lab: Mapped[str | None] = mapped_column(String(200))
    retest_due_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(100))
    retest_overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a pool-positive's retest told overdue

    __table_args__ = (
        Index("ix_sample_person_id_collected_at", "person_id", "collected_at", "id"),
        Index("ix_sample_retest_due_by", "retest_due_by"),
    )


class Tube(Base):
    """A pooled tube: its member count is the guard of the pool limit (an atomic conditional UPDATE)."""

    __tablename__ = "tube"

    tube_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TestResult(Base):
    """A lab's result for one target: a tube (``tube``) or a single sample (``barcode``)."""

    __tablename__ = "test_result"

    id: Mapped[int] = mapped_column(_Seq, primary_key=True, autoincrement=True)
    target_kind: Mapped[str] = mapped_column(String(7))
    target: Mapped[str] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(String(8))
    tested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lab: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(100))
    corrected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("target_kind", "target"),)


class ResultCorrection(Base):
    """The audit trail of corrected results: what was replaced, by what, why, by whom."""

    __tablename__ = "result_correction"

    id: Mapped[int] = mapped_column(_Seq, primary_key=True, autoincrement=True)
    target_kind: Mapped[str] = mapped_column(String(7))
    target: Mapped[str] = mapped_column(String(64))
    previous_result: Mapped[str] = mapped_column(String(8))
    result: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(Text)
    tested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lab: Mapped[str] = mapped_column(String(200))
    corrected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    corrected_by: Mapped[str] = mapped_column(String(100))

    __table_args__ = (Index("ix_result_correction_target", "target_kind", "target"),)


class Proof(Base):
    """Per ID number, what a negative proof needs, kept up to date on each result: one indexed read."""

    __tablename__ = "proof"

    id_number_index: Mapped[str] = mapped_column(String(64), primary_key=True)
    latest_negative_collected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    latest_negative_barcode: Mapped[str | None] = mapped_column(String(64))
    latest_positive_collected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TestSchedule(Base):
    """A test day of a registry measure: open until a sample fulfils it or the measure is released."""

    __tablename__ = "test_schedule"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    measure_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    region_code: Mapped[str] = mapped_column(String(15))
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10))  # open, fulfilled, cancelled
    sample_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    fulfilled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    measure_kind: Mapped[str | None] = mapped_column(String(40))  # the measure's kind (where the person is sampled)
    tag: Mapped[str | None] = mapped_column(String(40))  # a recurring test by tag: measure_id is then its series

    __table_args__ = (
        UniqueConstraint("measure_id", "due_on"),
        Index("ix_test_schedule_person_id_status", "person_id", "status", "due_on"),
        Index("ix_test_schedule_status_due_on", "status", "due_on", "id"),
    )


class TagSeries(Base):
    """A person's recurring tests by one tag (high_risk_post...): from the day the tag was seen, while it holds."""

    __tablename__ = "tag_series"

    person_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tag: Mapped[str] = mapped_column(String(40), primary_key=True)
    series_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)  # the schedules' measure_id
    region_code: Mapped[str] = mapped_column(String(15))
    since_on: Mapped[date] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_tag_series_active", "active", "person_id"),)


class ScheduleAnnouncement(Base):
    """That a schedule's due (or overdue) event went out: the unique key makes it once, whatever the replicas."""

    __tablename__ = "schedule_announcement"

    schedule_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # due, overdue
    announced_at: Mapped[datetime] = mapped_column(UTCDateTime)
