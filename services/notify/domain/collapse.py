"""The collapse window: a storm of same-kind notices to one recipient becomes one message.

Within ``window`` of the latest notice of the same kind to the same recipient through the
same channel, a new notice folds into it while it is still unsent (the count grows and its
text becomes the newest); once that one has gone out, the next waits for the window to pass.
Urgent alerts and login codes never collapse, and neither does a notice a person must act on: each
measure of a chain (集中隔离, then 居家健康监测) is its own notice, and so is each exposure, each retest
asked for and each decision on their gathering. A test due folds: one sample fulfils every test due.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

NEVER_COLLAPSE = frozenset({"positive_alert", "alert_escalated", "lead_overdue", "lead_overdue_escalated", "login_code",
                            "broadcast", "result_positive"})
# What a resident must act on: folding would overwrite one instruction with another.
ACT_ON = frozenset({
    "measure_assigned", "result_pool_positive", "result_invalid", "exposure",
    "gathering_approved", "gathering_rejected", "gathering_cancelled",
})


@dataclass(frozen=True)
class Latest:
    created_at: datetime
    status: str
    attempts: int
    channel: str


@dataclass(frozen=True)
class Fold:
    pass


@dataclass(frozen=True)
class New:
    not_before: datetime


def collapsible(kind: str, urgent: bool) -> bool:
    return not urgent and kind not in NEVER_COLLAPSE and kind not in ACT_ON


def decide(*, kind: str, urgent: bool, now: datetime, window: timedelta, latest: Latest | None) -> Fold | New:
    if not collapsible(kind, urgent) or window <= timedelta(0) or latest is None:
        return New(now)
    if latest.created_at <= now - window:
        return New(now)
    if latest.channel == "inbox":
        # An unread inbox entry just grows; once read, a new one is worth showing.
        return Fold() if latest.status == "sent" else New(now)
    if latest.status == "queued" and latest.attempts == 0:
        return Fold()
    return New(max(now, latest.created_at + window))
