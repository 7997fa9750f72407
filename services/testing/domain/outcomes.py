"""What a lab's result means for each person whose sample it covers (pooled sampling, 混采)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

Result = Literal["negative", "positive", "invalid"]
Outcome = Literal["negative", "positive", "pool_positive", "invalid"]
# Outcomes that break a negative proof collected before them.
POSITIVE_OUTCOMES = ("positive", "pool_positive")


def member_outcome(result: Result, members: int) -> Outcome:
    """A negative tube makes every member negative; a positive one with several members makes each
    pool_positive (a single-tube retest will tell); a positive tube of one is a positive."""
    if members < 1:
        raise ValueError("a result covers at least one sample")
    if result == "positive":
        return "positive" if members == 1 else "pool_positive"
    return result


def retest_due_by(outcome: Outcome, tested_at: datetime, retest_within_hours: int) -> datetime | None:
    """A pool-positive person's single-tube retest deadline, counted from the tube's test."""
    return tested_at + timedelta(hours=retest_within_hours) if outcome == "pool_positive" else None


Verdict = Literal["new", "duplicate", "conflict", "correction"]


def judge(result: Result, *, previous: Result | None, correction: bool) -> Verdict:
    """A result for a target that may have one already: the same again is a no-op, a different one
    is refused unless sent as a correction (which then replaces it)."""
    if previous is None:
        return "new"
    if previous == result:
        return "duplicate"
    return "correction" if correction else "conflict"


# A pool-positive's retest deadline is looked for this long after it passed (older ones are history).
RETEST_LOOKBACK = timedelta(days=7)
