"""Rows to answers: the one place personal data is shaped (masked unless revealed)."""

from __future__ import annotations

from datetime import date

from cordon import pii
from services.registry import schemas
from services.registry.models import Measure, Person
from services.registry.service.measures import current_status


def person(p: Person, revealed: dict | None = None) -> schemas.PersonRead:
    return schemas.PersonRead(
        id=p.id,
        name=p.name,
        name_masked=pii.mask_name(p.name),
        id_number_masked=p.id_number_masked,
        phone_masked=p.phone_masked,
        region_code=p.region_code,
        address=p.address,
        household=p.household,
        tags=list(p.tags or []),
        entry_date=p.entry_date,
        language=p.language,
        health_code=schemas.HealthCodeSummary(color=p.health_color, updated_at=p.health_updated_at),
        created_at=p.created_at,
        updated_at=p.updated_at,
        **(revealed or {}),
    )


def health_code(p: Person) -> schemas.HealthCodeRead:
    return schemas.HealthCodeRead(
        person_id=p.id, color=p.health_color, reasons=p.health_reasons, updated_at=p.health_updated_at
    )


def measure(m: Measure, today: date) -> schemas.MeasureRead:
    return schemas.MeasureRead(
        id=m.id,
        person_id=m.person_id,
        kind=m.kind,
        rule=m.rule,
        starts_on=m.starts_on,
        ends_on=m.ends_on,
        status=current_status(m, today),
        test_days=m.test_days,
        reason=m.reason,
        released_on=m.released_on,
    )
