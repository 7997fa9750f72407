"""Grid accountability (五包一, 每日两次随访, 日报告零报告): rosters, follow-up slots, report deadlines.

Pure: times come in, answers go out; the policy gives the slots and the deadline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from cordon import regions
from cordon.policy import FollowUps


def resolve_roster(region_code: str, rosters: dict[str, dict[str, str | None]]) -> tuple[str, dict[str, str | None]] | None:
    """The roster of the nearest place holding ``region_code``: its own, then each place above it in turn."""
    code: str | None = region_code
    while code is not None:
        if code in rosters:
            return code, rosters[code]
        code = regions.parent(code)
    return None


def missing_duties(staff: dict[str, str | None], duties: list[str]) -> list[str]:
    """The policy's duties nobody fills (in the policy's order)."""
    return [duty for duty in duties if not staff.get(duty)]


def usernames(staff: dict[str, str | None] | None) -> list[str]:
    """Whom to tell of a person: each responsible staff member once, in duty order (empty duties aside)."""
    return [u for u in dict.fromkeys((staff or {}).values()) if u]


@dataclass(frozen=True)
class SlotTime:
    on: date
    name: str
    starts_at: datetime
    ends_at: datetime


def slots_of_day(on: date, follow_ups: FollowUps, tz: ZoneInfo) -> list[SlotTime]:
    """The day's follow-up slots as moments (the first ``per_day`` slots of the policy)."""
    chosen = follow_ups.slots[: follow_ups.per_day]
    return [
        SlotTime(on, s.name, datetime.combine(on, s.start, tz), datetime.combine(on, s.end, tz)) for s in chosen
    ]


def slot_for(moment: datetime, follow_ups: FollowUps, tz: ZoneInfo) -> SlotTime | None:
    """The slot a follow-up made at ``moment`` fulfils: the one under way, or the next one that day.

    Early is fine; late is not: a slot whose end has passed stays missed.
    """
    local = moment.astimezone(tz)
    for slot in slots_of_day(local.date(), follow_ups, tz):
        if moment < slot.ends_at:
            return slot
    return None


def makes_up(status: str, ends_at: datetime, moment: datetime) -> bool:
    """A follow-up made at ``moment`` after a slot was missed (请尽快补做) makes that slot up: it is done, late."""
    return status in ("missed", "escalated") and ends_at <= moment


def may_follow_up(*, active: bool, fever: bool) -> bool:
    """Follow-ups are recorded on an active measure; and on any of the person's measures while a fever flag
    stands, so the reading that clears it can be recorded once the measure has ended (every yellow has a way out)."""
    return active or fever


def overdue_after_release(overdue_since: date | None, other_test_days: list[date], cutoff: date) -> date | None:
    """The person's overdue day once a measure is released (testing cancels its open tests): the earliest test
    day of the measures still held that is on or after the overdue day and overdue by ``cutoff``; else none.
    A sample since the overdue day would already have cleared it, so such a day is still untested."""
    if overdue_since is None:
        return None
    return min((d for d in other_test_days if overdue_since <= d <= cutoff), default=None)


def report_deadline(on: date, deadline: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(on, deadline, tz)


def is_late(submitted_at: datetime, on: date, deadline: time, tz: ZoneInfo) -> bool:
    return submitted_at > report_deadline(on, deadline, tz)


def reminder_due(now: datetime, on: date, deadline: time, remind_before: timedelta, tz: ZoneInfo) -> bool:
    """From ``remind_before`` ahead of the deadline until the deadline itself."""
    at = report_deadline(on, deadline, tz)
    return at - remind_before <= now < at


