"""Events published by the gateway's auth (subjects auth.*)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from cordon.contracts import Event, register


@register
class SmsCodeRequested(Event):
    """A login code must be sent. Phone and code travel encrypted under the shared key."""

    subject: ClassVar[str] = "auth.sms_code.requested"
    phone_index: str
    phone_enc: str
    code_enc: str
    expires_at: datetime


class UserFacts(Event):
    user_id: uuid.UUID
    username: str
    role: str
    regions: list[str] = []
    phone_enc: str | None = None
    active: bool = True


@register
class UserCreated(UserFacts):
    subject: ClassVar[str] = "auth.user.created"


@register
class UserUpdated(UserFacts):
    subject: ClassVar[str] = "auth.user.updated"


@register
class PartnerCreated(Event):
    subject: ClassVar[str] = "auth.partner.created"
    partner_id: uuid.UUID
    name: str
    scopes: list[str] = ["travel_records"]
    regions: list[str] = []


@register
class WechatBound(Event):
    """A resident bound their mini-program openid (WeChat subscription messages are addressed by it)."""

    subject: ClassVar[str] = "auth.wechat.bound"
    phone_index: str
    openid: str
    person_id: uuid.UUID | None = None
    openid_enc: str | None = None  # the same, encrypted under the shared key: how notify keeps it
