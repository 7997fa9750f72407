"""The notify service's tables: projections of people and staff, notifications, alerts, broadcasts."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cordon.db import JSONType, UTCDateTime, new_id, new_metadata


class Base(DeclarativeBase):
    metadata = new_metadata()


class PersonRef(Base):
    """A registered person as the registry announces them: where they live and how to reach them."""

    __tablename__ = "person_ref"

    person_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    region_code: Mapped[str] = mapped_column(String(15))
    id_number_index: Mapped[str] = mapped_column(String(64), index=True)
    phone_index: Mapped[str | None] = mapped_column(String(64), index=True)
    phone_masked: Mapped[str | None] = mapped_column(String(20))
    phone_enc: Mapped[str | None] = mapped_column(Text)  # decrypted only at send time
    name_masked: Mapped[str] = mapped_column(String(100), default="")
    name_enc: Mapped[str | None] = mapped_column(Text)  # decrypted only to answer staff whose places hold the person
    language: Mapped[str] = mapped_column(String(5), default="zh")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_person_ref_region_code_person_id", "region_code", "person_id"),)


class PlaceRef(Base):
    """A place's name, as the registry announces it (registry.region.changed); seeded with the names every
    county ships with (cordon/data/divisions.csv). Texts to staff name places by these names."""

    __tablename__ = "place_ref"

    code: Mapped[str] = mapped_column(String(15), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WechatRef(Base):
    """From auth.wechat.bound: a resident's mini-program openid (encrypted), by their phone's blind index."""

    __tablename__ = "wechat_ref"

    phone_index: Mapped[str] = mapped_column(String(64), primary_key=True)
    openid_enc: Mapped[str] = mapped_column(Text)
    bound_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StaffRef(Base):
    """A staff user as the gateway announces them (auth.user.*)."""

    __tablename__ = "staff_ref"

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    regions: Mapped[list[str]] = mapped_column(JSONType, default=list)
    phone_enc: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StaffRegion(Base):
    """A staff user's regions as rows, so "who covers region X" is an index lookup."""

    __tablename__ = "staff_region"

    region_code: Mapped[str] = mapped_column(String(15), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)


class Notification(Base):
    """One message to one recipient through one channel. (source, recipient, channel) is unique:
    a redelivered event never makes a second one."""

    __tablename__ = "notification"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    source: Mapped[str] = mapped_column(String(120))  # the event id, or broadcast:/escalation: keys
    recipient: Mapped[str] = mapped_column(String(100))  # a person id, a staff username, or a phone index
    recipient_type: Mapped[str] = mapped_column(String(10))  # person | staff | phone | office
    channel: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(40))
    person_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    phone_index: Mapped[str | None] = mapped_column(String(64))
    region_code: Mapped[str | None] = mapped_column(String(15))
    language: Mapped[str] = mapped_column(String(5), default="zh")
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    to_enc: Mapped[str | None] = mapped_column(Text)  # the encrypted phone, for sms and wechat
    secret_enc: Mapped[str | None] = mapped_column(Text)  # a login code: filled into the body at send time only
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set (committed) when a worker claims it for a provider call, cleared with the call's outcome: still set
    # at the next claim means the call was cut short and its outcome is unknown.
    sending_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    collapsed_count: Mapped[int] = mapped_column(Integer, default=1)
    alert_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    broadcast_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("source", "recipient", "channel"),
        Index("ix_notification_created_at_id", "created_at", "id"),
        Index("ix_notification_recipient_created_at", "recipient", "created_at"),
        Index("ix_notification_person_id_created_at", "person_id", "created_at"),
        Index("ix_notification_phone_index_created_at", "phone_index", "created_at"),
        Index("ix_notification_kind_created_at", "kind", "created_at"),
        Index("ix_notification_channel_created_at", "channel", "created_at"),
        Index("ix_notification_status_channel_next_attempt_at", "status", "channel", "next_attempt_at"),
        Index("ix_notification_broadcast_id_status", "broadcast_id", "status"),
    )


class NotificationFold(Base):
    """An event folded into an earlier notification of the same kind (the collapse window): still once only."""

    __tablename__ = "notification_fold"

    source: Mapped[str] = mapped_column(String(120), primary_key=True)
    recipient: Mapped[str] = mapped_column(String(100), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)
    notification_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The person the folded notice was about: a folded staff notice still names every person it stands for.
    person_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    region_code: Mapped[str | None] = mapped_column(String(15))

    __table_args__ = (Index("ix_notification_fold_notification_id_created_at", "notification_id", "created_at"),)


class WorkItem(Base):
    """One thing a grid worker or official must do in a place (GET /me/worklist): an open lead, a follow-up
    due or missed, a scheduled test due or overdue, an alert not acknowledged. A read model kept from the
    registry's and testing's events and from this service's own alerts.

    ``id`` is the thing's own id (the lead, the test schedule, the alert; a follow-up slot's is derived from
    its person, day and slot). A closing event always wins: a closed row stays closed (kept a while as a
    tombstone, so an opening event redelivered late does not bring it back)."""

    __tablename__ = "work_item"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # lead | follow_up | test | alert
    open: Mapped[bool] = mapped_column(Boolean, default=True)
    region_code: Mapped[str] = mapped_column(String(15))
    person_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    lead_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    measure_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    notification_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # an alert's: what POST /notifications/{id}/ack takes
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    shown_from: Mapped[datetime] = mapped_column(UTCDateTime)  # on the worklist from (a test: its day)
    shown_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # and until (a follow-up: the end of its day)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    title: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        # The worklist: open items inside the caller's places, by due time.
        Index("ix_work_item_open_region_code_due_at", "open", "region_code", "due_at", "id"),
        # ... and in due order, for a caller whose places hold most of the items (a township's or county's official).
        Index("ix_work_item_open_due_at_id", "open", "due_at", "id"),
        Index("ix_work_item_updated_at", "updated_at"),
    )


class Alert(Base):
    """An urgent matter (a positive in a region) that someone must acknowledge, or it goes one level up."""

    __tablename__ = "alert"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    source: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    region_code: Mapped[str] = mapped_column(String(15))
    facts: Mapped[dict] = mapped_column(JSONType, default=dict)
    level: Mapped[int] = mapped_column(Integer, default=0)
    addressees: Mapped[list[str]] = mapped_column(JSONType, default=list)  # usernames told so far
    primary_notification_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    ack_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)  # None: acknowledged or nobody above
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Broadcast(Base):
    """An official's message to everyone registered in a region, fanned out in the background."""

    __tablename__ = "broadcast"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    region_code: Mapped[str] = mapped_column(String(15))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    channels: Mapped[list[str]] = mapped_column(JSONType)
    created_by: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(12), index=True)  # fanning_out | fanned_out
    recipients: Mapped[int] = mapped_column(Integer, default=0)  # people reached so far
    # The fan-out's keyset position in person_ref (region_code, person_id).
    last_region_code: Mapped[str | None] = mapped_column(String(15))
    last_person_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fanned_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
