"""Rows to answers: the one place personal data is shaped (masked unless revealed)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

import orjson

from cordon import fastpath, paging, pii
from services.registry import schemas
from services.registry.domain import leads as lead_rules
from services.registry.models import Case, Measure, Person
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


def person_item(row) -> dict:
    """One item of a list, from a plain row of ``people.LIST_COLUMNS``: the fields, order and masking of
    ``person(p)`` (``schemas.PersonRead``), never revealed."""
    return {
        "id": str(row.id),
        "name": row.name,
        "name_masked": pii.mask_name(row.name),
        "id_number_masked": row.id_number_masked,
        "phone_masked": row.phone_masked,
        "region_code": row.region_code,
        "address": row.address,
        "household": row.household,
        "tags": list(row.tags or []),
        "entry_date": row.entry_date,
        "language": row.language,
        "health_code": {"color": row.health_color, "updated_at": row.health_updated_at},
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "id_number": None,
        "phone": None,
    }


def page_bytes(page: paging.Page, item: Callable) -> bytes:
    """A page as the bytes its page model (``schemas.PersonPage``, ``LeadPage``...) would serialize to, made once from
    plain rows (no model, no validation); ``item`` makes one item's fields in the model's order."""
    return orjson.dumps({"items": [item(row) for row in page.items], "next_cursor": page.next_cursor},
                        option=fastpath.JSON_OPTIONS)


def person_page(page: paging.Page) -> bytes:
    return page_bytes(page, person_item)


def follow_up_item(row) -> dict:
    """One item of the follow-ups list, from a plain row of ``follow_up_duties.LIST_COLUMNS``: the fields and order
    of ``schemas.FollowUpSlotRead``."""
    return {
        "person_id": str(row.person_id), "measure_id": str(row.measure_id), "region_code": row.region_code,
        "date": row.due_on, "slot": row.slot, "due_by": row.ends_at, "status": row.status, "done_at": row.done_at,
    }


def lead_item(row, now: datetime) -> dict:
    """One item of the leads list, from a plain row of ``leads.LIST_COLUMNS``: the fields and order of
    ``schemas.LeadRead`` (reasons as ``LeadReason`` keeps them), never revealed."""
    return {
        "id": str(row.id), "region_code": row.region_code, "phone_masked": row.phone_masked, "id_number_masked": row.id_number_masked,
        "name": row.name, "source": row.source, "reasons": [{"rule": r["rule"], "detail": r["detail"]} for r in row.reasons],
        "status": row.status, "outcome": row.outcome, "note": row.note, "due_at": row.due_at,
        "overdue": lead_rules.is_overdue(row.status, row.due_at, now), "assignee": row.assignee, "person_id": row.person_id and str(row.person_id),
        "created_at": row.created_at, "closed_at": row.closed_at, "id_number": None, "phone": None,
    }


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
        release_blocked=m.release_blocked if current_status(m, today) == "active" else None,
    )


def case(c: Case, measures: list[schemas.MeasureRead] | None = None) -> schemas.CaseRead:
    return schemas.CaseRead(
        id=c.id, person_id=c.person_id, classification=c.classification, status=c.status, reviewed_at=c.reviewed_at,
        hospital=c.hospital, discharged_on=c.discharged_on, created_at=c.created_at, created_by=c.created_by,
        measures=measures or [],
    )

