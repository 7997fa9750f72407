"""The health-code read model: one row per person, the answer of ``GET .../health-code`` ready to send.

Written by the transaction that changes a person's code (``service/health.py``), read on the hot routes
without an ORM or a response model: the row carries the answer as the contract shapes it (the same
bytes the response model would produce), the colour, its version (passes), and ``until``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

import orjson

# The options that make orjson's bytes the response model's: UTC as "Z" (as cordon.fastpath.JSON_OPTIONS).
JSON_OPTIONS = orjson.OPT_UTC_Z


@dataclass(frozen=True)
class CodeView:
    person_id: uuid.UUID
    color: str
    reasons: list[dict]  # [{"rule", "detail", "until": "YYYY-MM-DD" | None}], as stored on the person
    until: date | None
    version: int
    updated_at: datetime
    doc: str  # the answer of GET /persons/{id}/health-code and GET /me/health-code


def until(reasons: list[dict]) -> date | None:
    """The last day the colour holds by the reasons as they stand: the latest ``until`` of its reasons;
    None when there is no reason (green) or a reason has no end (a case, an overdue test)."""
    if not reasons or any(not r.get("until") for r in reasons):
        return None
    return max(date.fromisoformat(r["until"]) for r in reasons)


def answer(*, person_id: uuid.UUID, color: str, reasons: list[dict], updated_at: datetime) -> str:
    """The contract's health-code answer: person_id, color, reasons (rule, detail, until), updated_at."""
    return orjson.dumps(
        {
            "person_id": str(person_id),  # the driver may hand a UUID subclass orjson does not take
            "color": color,
            "reasons": [{"rule": r["rule"], "detail": r["detail"], "until": r.get("until")} for r in reasons],
            "updated_at": updated_at,
        },
        option=JSON_OPTIONS,
    ).decode()


def view(*, person_id: uuid.UUID, color: str, reasons: list[dict], version: int, updated_at: datetime) -> CodeView:
    reasons = list(reasons or [])
    return CodeView(
        person_id=person_id, color=color, reasons=reasons, until=until(reasons), version=version,
        updated_at=updated_at, doc=answer(person_id=person_id, color=color, reasons=reasons, updated_at=updated_at),
    )
