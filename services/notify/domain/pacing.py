"""When a message to a phone may go: quiet hours at night, and a daily cap per person (both policy data)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from cordon.policy import QuietHours


def exempt(*, kind: str, recipient_type: str, urgent: bool, quiet: QuietHours) -> bool:
    """Alerts to staff, and the kinds the policy exempts (a login code asked for now), are never held or capped."""
    return kind in quiet.exempt_kinds or (recipient_type == "staff" and urgent)


def _inside(t: time, start: time, end: time) -> bool:
    if start == end:
        return False
    return start <= t < end if start < end else (t >= start or t < end)


def not_before(now: datetime, *, quiet: QuietHours, tz: ZoneInfo) -> datetime:
    """``now``, or the end of the quiet hours ``now`` falls in (as UTC)."""
    local = now.astimezone(tz)
    if not _inside(local.time(), quiet.start, quiet.end):
        return now
    day = local.date() if local.time() < quiet.end else local.date() + timedelta(days=1)
    return datetime.combine(day, quiet.end, tz).astimezone(UTC)


def day_start(now: datetime, tz: ZoneInfo) -> datetime:
    """Midnight of ``now``'s local day, as UTC: the cap counts from here."""
    return datetime.combine(now.astimezone(tz).date(), time(0), tz).astimezone(UTC)
