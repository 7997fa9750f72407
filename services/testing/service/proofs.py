"""Negative proofs: the per-ID-number summary kept on each result, and the one read a gate makes."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cordon.db import dialect_insert, slices
from services.testing.domain import proof as rules
from services.testing.domain.outcomes import POSITIVE_OUTCOMES
from services.testing.models import PersonRef, Proof, Sample

_SUMMARY = ("latest_negative_collected_at", "latest_negative_barcode", "latest_positive_collected_at")


async def refresh(*, session: AsyncSession, indexes: set[str], now: datetime) -> None:
    """Recompute the summaries of these ID numbers from their samples (a correction may lower them)."""
    for part in slices(indexes):
        rows = await session.execute(
            select(Sample.id_number_index, Sample.status, Sample.collected_at, Sample.barcode).where(
                Sample.id_number_index.in_(part), Sample.status.in_(("negative", *POSITIVE_OUTCOMES))
            )
        )
        grouped: dict[str, list] = {index: [] for index in part}
        for index, status, collected_at, barcode in rows:
            grouped[index].append((status, collected_at, barcode))
        values = []
        for index, samples in grouped.items():
            summary = rules.summarize(samples)
            values.append({"id_number_index": index, **{k: getattr(summary, k) for k in _SUMMARY}, "updated_at": now})
        statement = dialect_insert(session, Proof).values(values)
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["id_number_index"], set_={k: statement.excluded[k] for k in (*_SUMMARY, "updated_at")}
            )
        )


_READ = select(
    PersonRef.person_id, PersonRef.region_code, PersonRef.phone_index,
    Proof.latest_negative_collected_at, Proof.latest_negative_barcode, Proof.latest_positive_collected_at,
).outerjoin(Proof, Proof.id_number_index == PersonRef.id_number_index)


async def summary_of_person(*, session: AsyncSession, person_id: uuid.UUID):
    """(person_id, region_code, phone_index, Summary) of a registry person, or None: one indexed read."""
    return _as_summary((await session.execute(_READ.where(PersonRef.person_id == person_id))).first())


async def summary_by_phone(*, session: AsyncSession, phone_index: str):
    return _as_summary((await session.execute(_READ.where(PersonRef.phone_index == phone_index).limit(1))).first())


def _as_summary(row):
    if row is None:
        return None
    return row.person_id, row.region_code, row.phone_index, rules.Summary(
        row.latest_negative_collected_at, row.latest_negative_barcode, row.latest_positive_collected_at
    )
