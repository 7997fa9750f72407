"""What a provider's answer means, and when to try again: exponential backoff with full jitter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

Verdict = Literal["sent", "retry", "give_up"]


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    reason: str = ""


SENT = Outcome("sent")


def from_status(status: int, detail: str = "") -> Outcome:
    """2xx sent; 429 and 5xx are the provider's trouble (try again); any other answer will not change."""
    reason = f"http {status}" + (f": {detail[:200]}" if detail else "")
    if 200 <= status < 300:
        return SENT
    if status == 429 or status >= 500:
        return Outcome("retry", reason)
    return Outcome("give_up", reason)


def retry(reason: str) -> Outcome:
    """Timeouts and connection errors: the message may not have arrived; try again."""
    return Outcome("retry", reason)


def backoff_s(attempt: int, *, base_s: float, cap_s: float, rand: float) -> float:
    """Full jitter (AWS architecture blog): uniform in [0, min(cap, base * 2**(attempt-1))).

    ``attempt`` is the number of attempts made so far (1 after the first); ``rand`` in [0, 1).
    """
    ceiling = min(cap_s, base_s * 2 ** max(attempt - 1, 0))
    return rand * ceiling


@dataclass(frozen=True)
class Next:
    status: Literal["sent", "queued", "failed"]
    next_attempt_at: datetime | None = None
    reason: str | None = None


def after_attempt(
    outcome: Outcome, *, attempts: int, max_attempts: int, now: datetime, base_s: float, cap_s: float, rand: float
) -> Next:
    """The notification's state after its ``attempts``-th attempt ended with ``outcome``."""
    if outcome.verdict == "sent":
        return Next("sent")
    if outcome.verdict == "give_up":
        return Next("failed", reason=outcome.reason)
    if attempts >= max_attempts:
        return Next("failed", reason=f"gave up after {attempts} attempts: {outcome.reason}")
    delay = backoff_s(attempts, base_s=base_s, cap_s=cap_s, rand=rand)
    return Next("queued", next_attempt_at=now + timedelta(seconds=delay), reason=outcome.reason)
