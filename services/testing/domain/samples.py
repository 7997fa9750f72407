"""Admitting samples: barcodes are unique (the same sample again is a no-op), pools are bounded,
and a tube that has its result takes no more members."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal


@dataclass(frozen=True)
class SampleFacts:
    """What identifies a sample's content: a re-post with the same facts is the same sample."""

    barcode: str
    id_number_index: str
    collected_at: datetime
    site: str
    tube_id: str | None


@dataclass(frozen=True)
class Decision:
    verdict: Literal["accept", "duplicate", "reject"]
    code: str | None = None
    message: str | None = None


# A sampling device's clock may run a little ahead of ours.
CLOCK_SKEW = timedelta(minutes=10)


def admit(
    batch: list[SampleFacts],
    *,
    existing: dict[str, SampleFacts],
    tube_members: dict[str, int],
    tested_tubes: set[str],
    pool_max: int,
    now: datetime,
) -> list[Decision]:
    """One decision per sample of ``batch``, in order; earlier samples of the batch count for later ones."""
    known = dict(existing)
    members = dict(tube_members)
    decisions = []
    for sample in batch:
        decisions.append(_one(sample, known, members, tested_tubes, pool_max, now))
        if decisions[-1].verdict == "accept":
            known[sample.barcode] = sample
            if sample.tube_id is not None:
                members[sample.tube_id] = members.get(sample.tube_id, 0) + 1
    return decisions


def _one(sample, known, members, tested_tubes, pool_max, now) -> Decision:
    previous = known.get(sample.barcode)
    if previous is not None:
        if previous == sample:
            return Decision("duplicate")
        return Decision("reject", "barcode_conflict", f"barcode {sample.barcode} belongs to another sample")
    if sample.collected_at > now + CLOCK_SKEW:
        return Decision("reject", "collected_at_in_future", "collected_at is in the future")
    if sample.tube_id is not None:
        if sample.tube_id in tested_tubes:
            return Decision("reject", "tube_already_tested", f"tube {sample.tube_id} already has a result")
        if members.get(sample.tube_id, 0) >= pool_max:
            return Decision("reject", "pool_too_large", f"tube {sample.tube_id} already holds {pool_max} samples")
    return Decision("accept")
