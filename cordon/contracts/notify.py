"""Events published by the notify service (subjects notify.*)."""

from __future__ import annotations

import uuid
from typing import ClassVar

from cordon.contracts import Event, register


class NotificationFacts(Event):
    notification_id: uuid.UUID
    kind: str
    channel: str
    recipient: str  # opaque: a person id or a staff username
    attempts: int = 0


@register
class NotificationSent(NotificationFacts):
    subject: ClassVar[str] = "notify.notification.sent"


@register
class NotificationFailed(NotificationFacts):
    subject: ClassVar[str] = "notify.notification.failed"
    reason: str


@register
class NotificationEscalated(NotificationFacts):
    subject: ClassVar[str] = "notify.notification.escalated"
    level: int
    region_code: str | None = None
    escalated_to: list[str]
