"""What a test result does to a person's test state: the outcome rule, as a pure function."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime


@dataclass(frozen=True)
class ResultState:
    positive_at: datetime | None = None  # when the sample of their positive was collected
    pool_positive_due_by: datetime | None = None  # a pooled tube was positive: the single-tube retest is due by then


def after_result(
    state: ResultState, *, outcome: str, collected_at: datetime, retest_due_by: datetime | None, correction: bool
) -> ResultState:
    """A positive marks the person; a pooled positive asks for a retest unless they are positive already; a
    negative settles a pending retest, and a negative that corrects their positive takes it back."""
    if outcome == "positive":
        return ResultState(positive_at=collected_at, pool_positive_due_by=None)
    if outcome == "pool_positive" and state.positive_at is None:
        return replace(state, pool_positive_due_by=retest_due_by)
    if outcome == "negative":
        positive_at = None if correction and state.positive_at == collected_at else state.positive_at
        return ResultState(positive_at=positive_at, pool_positive_due_by=None)
    return state
