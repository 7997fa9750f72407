"""Rows to answers: personal data only in masked form."""

from __future__ import annotations

from services.events import schemas
from services.events.models import CheckIn, Gathering


def gathering(g: Gathering) -> schemas.GatheringRead:
    return schemas.GatheringRead(
        id=g.id, title=g.title, kind=g.kind,
        organizer=schemas.OrganizerRead(name=g.organizer_name, phone_masked=g.organizer_phone_masked),
        venue=schemas.Venue(address=g.address, region_code=g.region_code),
        starts_at=g.starts_at, ends_at=g.ends_at, gathering_on=g.gathering_on,
        expected_attendees=g.expected_attendees, tables=g.tables,
        prevention_plan=g.prevention_plan, emergency_plan=g.emergency_plan,
        requirement=g.requirement, status=g.status, warnings=g.warnings or [], exposure=g.exposure,
        checked_in=g.checked_in, over_capacity=g.checked_in > g.expected_attendees,
        decided_by=g.decided_by, decided_at=g.decided_at, decision_reason=g.decision_reason,
        cancelled_by=g.cancelled_by, cancelled_at=g.cancelled_at, cancel_reason=g.cancel_reason,
        created_at=g.created_at, updated_at=g.updated_at,
    )


def check_in(c: CheckIn, *, repeat: bool = False) -> schemas.CheckInRead:
    return schemas.CheckInRead(
        id=c.id, gathering_id=c.gathering_id, seq=c.seq, id_number_masked=c.id_number_masked,
        phone_masked=c.phone_masked, over_capacity=c.over_capacity, checked_in_at=c.checked_in_at, repeat=repeat,
    )
