"""What a provider's answer means, and when to try again: exponential backoff with full jitter.

Delivery is at most once per recipient and channel. An attempt whose outcome is unknown (a timeout after
the request may have arrived, or an attempt cut short by a crash) is made again only through a channel
that is safe to repeat, one whose far end drops a message it already has by its idempotency key; through
any other it is given up, never doubled."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

Verdict = Literal["sent", "retry", "give_up"]


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    reason: str = ""
    unknown: bool = False  # the message may have arrived: repeat it only where repeating is safe
    unreachable: bool = False  # this channel cannot reach the recipient (not subscribed, no such openid): another may


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
    """The message did not arrive (the connection was refused, the provider said so): try again."""
    return Outcome("retry", reason)


def unknown(reason: str) -> Outcome:
    """Timeouts, a connection lost mid-request, an attempt cut short by a crash: it may have arrived."""
    return Outcome("retry", reason, unknown=True)


INTERRUPTED = unknown("interrupted: the attempt was cut short (a restart); its outcome is unknown")


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
    fallback: str | None = None  # the channel to try instead, when this one cannot reach the recipient


# A resident who has not subscribed to (or refused) a WeChat subscription message is still told, by SMS.
FALLBACK = {"wechat": "sms"}


def after_attempt(
    outcome: Outcome, *, attempts: int, max_attempts: int, now: datetime, base_s: float, cap_s: float, rand: float,
    repeatable: bool = True, channel: str = "",
) -> Next:
    """The notification's state after its ``attempts``-th attempt ended with ``outcome``; ``repeatable``: the
    channel drops a repeated message by its idempotency key; ``channel``: the one it went by (its fallback)."""
    if outcome.verdict == "sent":
        return Next("sent")
    if outcome.verdict == "give_up":
        return Next("failed", reason=outcome.reason, fallback=FALLBACK.get(channel) if outcome.unreachable else None)
    if outcome.unknown and not repeatable:
        return Next("failed", reason=f"not repeated (at most once), outcome unknown: {outcome.reason}")
    if attempts >= max_attempts:
        return Next("failed", reason=f"gave up after {attempts} attempts: {outcome.reason}")
    delay = backoff_s(attempts, base_s=base_s, cap_s=cap_s, rand=rand)
    return Next("queued", next_attempt_at=now + timedelta(seconds=delay), reason=outcome.reason)
