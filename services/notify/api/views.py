"""Rows to answers."""

from __future__ import annotations

import uuid

from services.notify import schemas
from services.notify.models import Notification
from services.notify.service.broadcasts import Progress
from services.notify.service.queries import Annotation
from services.notify.service.worklist import Line


def notification(row: Notification, about: Annotation | None = None) -> schemas.NotificationRead:
    return schemas.NotificationRead(
        id=row.id, kind=row.kind, recipient=row.recipient, channel=row.channel, status=row.status, title=row.title,
        body=row.body, created_at=row.created_at, attempts=row.attempts, urgent=row.urgent, count=row.collapsed_count,
        region_code=row.region_code, place=about.place if about else None, person_id=row.person_id,
        people=[schemas.PersonLink(person_id=p.person_id, region_code=p.region_code, place=p.place, name=p.name)
                for p in about.people] if about else [],
        sent_at=row.sent_at, read_at=row.read_at, acknowledged_at=row.acknowledged_at, last_error=row.last_error,
    )


def notifications(rows: list[Notification], about: dict[uuid.UUID, Annotation]) -> list[schemas.NotificationRead]:
    return [notification(row, about.get(row.id)) for row in rows]


def work_item(line: Line) -> schemas.WorkItemRead:
    item = line.item
    return schemas.WorkItemRead(
        kind=item.kind, id=item.id, person_id=item.person_id, lead_id=item.lead_id, measure_id=item.measure_id,
        notification_id=item.notification_id, region_code=item.region_code, place=line.place, person_name=line.person_name,
        due_at=item.due_at, overdue=line.overdue, title=line.title,
    )


def broadcast(p: Progress) -> schemas.BroadcastRead:
    b = p.broadcast
    return schemas.BroadcastRead(
        id=b.id, region_code=b.region_code, title=b.title, body=b.body, channels=b.channels, status=b.status,
        recipients=b.recipients, notifications=p.by_status, created_by=b.created_by, created_at=b.created_at,
        fanned_out_at=b.fanned_out_at,
    )
