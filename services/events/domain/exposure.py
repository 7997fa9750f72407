"""Who was exposed: check-ins of a positive person from the policy's look-back before the sample until the result."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Keys:
    """The blind indexes one person is known by here (ID number; phone, when the registry linked one)."""

    id_number_index: str
    phone_index: str | None = None

    def matches(self, id_number_index: str | None, phone_index: str | None) -> bool:
        return (id_number_index is not None and id_number_index == self.id_number_index) or (
            phone_index is not None and phone_index == self.phone_index
        )


def window(collected_at: datetime, tested_at: datetime, days: int) -> tuple[datetime, datetime]:
    """Check-ins from ``days`` days before the sample until the result, both ends included.

    The days between sampling and the result are the most infectious: a gathering the person attended
    then is an exposure too. A result stamped before its sample (a lab clock astray) ends at the sample."""
    return collected_at - timedelta(days=days), max(collected_at, tested_at)


def in_window(checked_in_at: datetime, collected_at: datetime, tested_at: datetime, days: int) -> bool:
    start, end = window(collected_at, tested_at, days)
    return start <= checked_in_at <= end
