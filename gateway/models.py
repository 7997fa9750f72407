"""The gateway's tables: staff users, partners, login codes, and the phone -> person projection."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text, Uuid, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cordon.db import JSONType, UTCDateTime, new_id, new_metadata

PARTNER_SCOPES = ("travel_records", "gate")
DEFAULT_SCOPES = text("""'["travel_records"]'""")


class Base(DeclarativeBase):
    metadata = new_metadata()


class User(Base):
    """A staff user: admin, official, grid_worker or lab. Passwords are argon2 hashes."""

    __tablename__ = "user_account"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(20))
    regions: Mapped[list[str]] = mapped_column(JSONType, default=list)
    phone_enc: Mapped[str | None] = mapped_column(Text)
    phone_masked: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(64))


class Partner(Base):
    """A partner system; its API key is kept only as a SHA-256 digest (the key is random, 256 bits)."""

    __tablename__ = "partner"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100))
    key_digest: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # What the key opens ("travel_records", "gate") and, for a gate, the places it stands in.
    scopes: Mapped[list[str]] = mapped_column(JSONType, default=lambda: ["travel_records"], server_default=DEFAULT_SCOPES)
    regions: Mapped[list[str]] = mapped_column(JSONType, default=list, server_default=text("'[]'"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SmsCode(Base):
    """The latest login code per phone: digest only, single use, limited attempts."""

    __tablename__ = "sms_code"

    phone_index: Mapped[str] = mapped_column(String(64), primary_key=True)
    code_digest: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used: Mapped[bool] = mapped_column(Boolean, default=False)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_in_window: Mapped[int] = mapped_column(Integer, default=1)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PersonPhone(Base):
    """From registry.person.*: which person a phone belongs to, so a resident's token can name them."""

    __tablename__ = "person_phone"

    phone_index: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)


class WechatBinding(Base):
    """A mini-program user (openid) bound, once, to a resident (their phone's blind index)."""

    __tablename__ = "wechat_binding"

    openid: Mapped[str] = mapped_column(String(128), primary_key=True)
    phone_index: Mapped[str] = mapped_column(String(64), unique=True)
    bound_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WechatCode(Base):
    """A wx.login code already presented (its digest): WeChat's codes are single use, and so are they here."""

    __tablename__ = "wechat_code"

    code_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
