"""Negative proofs (核酸阴性证明): the latest negative collection, with no positive collected after it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.testing.domain.outcomes import POSITIVE_OUTCOMES


@dataclass(frozen=True)
class Summary:
    """What one ID number's samples say for a proof; kept per ID number so a gate's check is one read."""

    latest_negative_collected_at: datetime | None = None
    latest_negative_barcode: str | None = None
    latest_positive_collected_at: datetime | None = None


def summarize(samples: Iterable[tuple[str, datetime, str]]) -> Summary:
    """From (status, collected_at, barcode) of one person's samples."""
    negative_at, barcode, positive_at = None, None, None
    for status, collected_at, code in samples:
        if status == "negative" and (negative_at is None or collected_at > negative_at):
            negative_at, barcode = collected_at, code
        elif status in POSITIVE_OUTCOMES and (positive_at is None or collected_at > positive_at):
            positive_at = collected_at
    return Summary(negative_at, barcode, positive_at)


@dataclass(frozen=True)
class NegativeProof:
    valid: bool
    collected_at: datetime | None = None
    barcode: str | None = None


def negative_proof(summary: Summary | None, *, now: datetime, within_hours: int) -> NegativeProof:
    """Valid when the latest negative was collected within ``within_hours`` of ``now`` (inclusive: a
    negative collected exactly N hours ago still counts) and no positive or pool-positive sample was
    collected at or after it. An expired negative is named (the holder sees when it was); one
    overtaken by a positive is not."""
    if summary is None or summary.latest_negative_collected_at is None:
        return NegativeProof(valid=False)
    negative_at = summary.latest_negative_collected_at
    positive_at = summary.latest_positive_collected_at
    if positive_at is not None and positive_at >= negative_at:
        return NegativeProof(valid=False)
    fresh = now - negative_at <= timedelta(hours=within_hours)
    return NegativeProof(valid=fresh, collected_at=negative_at, barcode=summary.latest_negative_barcode)
