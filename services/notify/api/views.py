"""Rows to answers."""

from __future__ import annotations

from services.notify import schemas
from services.notify.models import Notification
from services.notify.service.broadcasts import Progress


def notification(row: Notification) -> schemas.NotificationRead:
    return schemas.NotificationRead(
        id=row.id, kind=row.kind, recipient=row.recipient, channel=row.channel, status=row.status, title=row.title,
        body=row.body, created_at=row.created_at, attempts=row.attempts, urgent=row.urgent, count=row.collapsed_count,
        region_code=row.region_code, sent_at=row.sent_at, read_at=row.read_at, acknowledged_at=row.acknowledged_at,
        last_error=row.last_error,
    )


def broadcast(p: Progress) -> schemas.BroadcastRead:
    b = p.broadcast
    return schemas.BroadcastRead(
        id=b.id, region_code=b.region_code, title=b.title, body=b.body, channels=b.channels, status=b.status,
        recipients=b.recipients, notifications=p.by_status, created_by=b.created_by, created_at=b.created_at,
        fanned_out_at=b.fanned_out_at,
    )
