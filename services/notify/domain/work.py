"""The grid worker's worklist as data: what one item is, when it shows, and how it reads.

Each item is something to do in a place today: an open lead (until closed), a follow-up slot (on its
day: due until it ends, missed after), a scheduled test (from its day until a sample fulfils it or it is
cancelled), an urgent alert (until acknowledged). A closing fact always wins over an opening one,
whatever order the events arrive in.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from cordon.clock import CHINA
from services.notify.domain import facts

KINDS = ("lead", "follow_up", "test", "alert")
# A follow-up slot's item id: derived from what makes the slot unique in the registry (person, day, slot).
FOLLOW_UP_IDS = uuid.UUID("6f1d7a52-3c1e-4f0e-9b7a-2d5f0c8e4a11")
SLOT_WORDS = {"morning": "上午", "evening": "晚间"}


@dataclass(frozen=True)
class Item:
    id: uuid.UUID
    kind: str
    region_code: str
    due_at: datetime
    shown_from: datetime
    title: str  # what is to be done; the answer adds whom and where
    shown_until: datetime | None = None
    person_id: uuid.UUID | None = None
    lead_id: uuid.UUID | None = None
    measure_id: uuid.UUID | None = None
    overdue: bool = False

    def values(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class Closed:
    id: uuid.UUID
    kind: str
    region_code: str


def day_start(on: date) -> datetime:
    """Midnight at the start of a China day."""
    return datetime.combine(on, time(0), CHINA)


def day_end(on: date) -> datetime:
    """Midnight at the end of a China day (the next day's start)."""
    return day_start(on + timedelta(days=1))


def follow_up_id(person_id: uuid.UUID, on: date, slot: str) -> uuid.UUID:
    return uuid.uuid5(FOLLOW_UP_IDS, f"{person_id}:{on.isoformat()}:{slot}")


def follow_up(*, person_id: uuid.UUID, region_code: str, measure_id: uuid.UUID, on: date, slot: str, due_by: datetime,
              missed: bool = False) -> Item:
    """A follow-up slot: on the worklist on its day only (a slot of a past day can no longer be done)."""
    return Item(
        id=follow_up_id(person_id, on, slot), kind="follow_up", region_code=region_code, due_at=due_by,
        shown_from=day_start(on), shown_until=day_end(on), title=f"{SLOT_WORDS.get(slot, slot)}随访",
        person_id=person_id, measure_id=measure_id, overdue=missed,
    )


def test(*, schedule_id: uuid.UUID, person_id: uuid.UUID, region_code: str, measure_id: uuid.UUID, due_on: date,
         overdue: bool = False) -> Item:
    """A scheduled test: from its day until it is fulfilled or cancelled."""
    return Item(
        id=schedule_id, kind="test", region_code=region_code, due_at=day_end(due_on), shown_from=day_start(due_on),
        title=f"核酸检测（{facts.day(due_on, 'zh')}应检）", person_id=person_id, measure_id=measure_id, overdue=overdue,
    )


def lead(*, lead_id: uuid.UUID, region_code: str, due_at: datetime, opened_at: datetime, who: str = "",
         overdue: bool = False) -> Item:
    """An open lead: someone to find in the place, until the lead is closed."""
    return Item(
        id=lead_id, kind="lead", region_code=region_code, due_at=due_at, shown_from=opened_at,
        title=f"排查线索：{who}" if who else "排查线索", lead_id=lead_id, overdue=overdue,
    )


def alert(*, alert_id: uuid.UUID, region_code: str, person_id: uuid.UUID | None, due_at: datetime, created_at: datetime,
          title: str) -> Item:
    """An urgent alert: until someone acknowledges it; ``due_at`` is its acknowledgement deadline."""
    return Item(id=alert_id, kind="alert", region_code=region_code, due_at=due_at, shown_from=created_at, title=title,
                person_id=person_id)


def closed(item_id: uuid.UUID, kind: str, region_code: str) -> Closed:
    return Closed(item_id, kind, region_code)


def is_overdue(*, kind: str, flagged: bool, due_at: datetime, now: datetime) -> bool:
    """Overdue as the producing service said (a test: testing's own grace), or past its due time (the others)."""
    return flagged or (kind != "test" and due_at <= now)


def reads(title: str, *, person: str | None, place: str) -> str:
    """The item's line: what, whom, where (排查线索：138****1234（西门社区）, 上午随访：张三（西门社区）)."""
    return f"{title}：{person}（{place}）" if person else f"{title}（{place}）"
