"""The events service's tables: gatherings, their check-ins, exposures found, and the person projection."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cordon.db import JSONType, UTCDateTime, new_id, new_metadata


class Base(DeclarativeBase):
    metadata = new_metadata()


class PlaceRef(Base):
    """A place of the tree, as the registry announces it (registry.region.changed); seeded with every shipped
    county (cordon/data/divisions.csv). A venue must be one of these."""

    __tablename__ = "place_ref"

    code: Mapped[str] = mapped_column(String(15), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Gathering(Base):
    """A filed gathering. The organiser's phone: blind index (matching), ciphertext (notify), masked (answers)."""

    __tablename__ = "gathering"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    region_code: Mapped[str] = mapped_column(String(15))
    address: Mapped[str] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    gathering_on: Mapped[date] = mapped_column(Date)  # the China Standard Time day it starts
    expected_attendees: Mapped[int] = mapped_column(Integer)
    tables: Mapped[int | None] = mapped_column(Integer)
    prevention_plan: Mapped[str | None] = mapped_column(Text)
    emergency_plan: Mapped[str | None] = mapped_column(Text)
    requirement: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20))
    warnings: Mapped[list[dict]] = mapped_column(JSONType, default=list)
    exposure: Mapped[bool] = mapped_column(default=False)
    checked_in: Mapped[int] = mapped_column(Integer, default=0)  # check-ins so far; also numbers each one
    organizer_name: Mapped[str] = mapped_column(String(100))
    organizer_phone_index: Mapped[str] = mapped_column(String(64))
    organizer_phone_masked: Mapped[str] = mapped_column(String(20))
    organizer_phone_enc: Mapped[str] = mapped_column(Text)
    # Who filed it (user id, or a resident's phone index): "my gatherings" and who may cancel.
    organizer_subject: Mapped[str] = mapped_column(String(100))
    filed_by_role: Mapped[str] = mapped_column(String(20))
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    cancelled_by: Mapped[str | None] = mapped_column(String(100))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        # Lists are keyset pages on (starts_at, id) inside a region range, a status, or an organiser.
        Index("ix_gathering_region_code_starts_at_id", "region_code", "starts_at", "id"),
        Index("ix_gathering_status_region_code_starts_at", "status", "region_code", "starts_at"),
        Index("ix_gathering_organizer_subject_starts_at_id", "organizer_subject", "starts_at", "id"),
        Index("ix_gathering_organizer_phone_index_starts_at_id", "organizer_phone_index", "starts_at", "id"),
    )


class CheckIn(Base):
    """One attendee at one gathering: blind index and masked form of the ID number or phone given."""

    __tablename__ = "check_in"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    gathering_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("gathering.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)  # 1 for the first to arrive: the attendee list's order
    # "id:<index>" or "phone:<index>": one check-in per person and gathering.
    person_key: Mapped[str] = mapped_column(String(80))
    id_number_index: Mapped[str | None] = mapped_column(String(64))
    id_number_masked: Mapped[str | None] = mapped_column(String(18))
    phone_index: Mapped[str | None] = mapped_column(String(64))
    phone_masked: Mapped[str | None] = mapped_column(String(20))
    over_capacity: Mapped[bool] = mapped_column(default=False)
    checked_in_at: Mapped[datetime] = mapped_column(UTCDateTime)
    checked_in_by: Mapped[str] = mapped_column(String(100))

    __table_args__ = (
        UniqueConstraint("gathering_id", "person_key"),
        UniqueConstraint("gathering_id", "seq"),
        # Exposure search: a person's check-ins in a time window.
        Index("ix_check_in_id_number_index_checked_in_at", "id_number_index", "checked_in_at"),
        Index("ix_check_in_phone_index_checked_in_at", "phone_index", "checked_in_at"),
    )


class Exposure(Base):
    """A gathering found to have had a positive attendee: one row per (gathering, positive person)."""

    __tablename__ = "exposure"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    gathering_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("gathering.id", ondelete="CASCADE"))
    positive_id_number_index: Mapped[str] = mapped_column(String(64))
    positive_person_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    sample_collected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attendees: Mapped[int] = mapped_column(Integer)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("gathering_id", "positive_id_number_index"),)


class PersonRef(Base):
    """The registry's people as this service needs them: which ID number goes with which phone."""

    __tablename__ = "person_ref"

    person_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    id_number_index: Mapped[str] = mapped_column(String(64), unique=True)
    phone_index: Mapped[str | None] = mapped_column(String(64), index=True)
    region_code: Mapped[str] = mapped_column(String(15))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
