"""One line of a partner's travel push, checked: a record or the reason it is refused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from cordon import bounds, pii, regions
from cordon.batches import LineError, json_object

MAX_RECORD_ID = 128
CHINA = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class TravelLine:
    record_id: str
    phone: str | None
    id_number: str | None
    region_code: str
    first_seen: date
    last_seen: date
    current_region_code: str | None = None  # where the person is now: an unmatched record's lead goes there


def _day(value: object, field: str) -> date:
    if not isinstance(value, str):
        raise LineError("invalid_date", f"{field} must be a date (YYYY-MM-DD) or a time with offset")
    try:
        if len(value) == 10:
            return bounds.check_day(date.fromisoformat(value))
        # Bounded before it is converted: 0001-01-01T00:00:00+14:00 has no time in China or UTC.
        moment = bounds.check_moment(datetime.fromisoformat(value))
    except bounds.OutOfBounds as exc:
        raise LineError("date_out_of_range", f"{field}: {exc}") from None
    except ValueError:
        raise LineError("invalid_date", f"{field} is not a date: {value[:40]!r}") from None
    # A moment is a day in China time, whatever offset the partner wrote it in.
    return moment.astimezone(CHINA).date() if moment.tzinfo else moment.date()


def check_window(last_seen: date, today: date, horizon_days: int) -> None:
    """Travel counts only near today: ``last_seen`` within the policy's horizon (travel_window_days) either side."""
    low, high = today - timedelta(days=horizon_days), today + timedelta(days=horizon_days)
    if not low <= last_seen <= high:
        raise LineError("date_out_of_range", f"last_seen 须在 {low} 至 {high} 之间（within the policy's {horizon_days} days of today）")


def parse(raw: bytes | dict, *, today: date, horizon_days: int) -> TravelLine:
    """A checked record from one NDJSON line (or one element of a JSON array), its travel near ``today``."""
    raw = json_object(raw)
    record_id = raw.get("record_id")
    if not isinstance(record_id, str) or not record_id.strip() or len(record_id) > MAX_RECORD_ID:
        raise LineError("record_id_missing", "record_id is required (a string of at most 128 characters)")
    phone, id_number = raw.get("phone"), raw.get("id_number")
    if phone is None and id_number is None:
        raise LineError("person_missing", "a record needs a phone or an id_number")
    if phone is not None and not (isinstance(phone, str) and pii.is_valid_phone(phone)):
        raise LineError("phone_invalid", "phone is not a mainland mobile number")
    if id_number is not None and not (isinstance(id_number, str) and pii.is_valid_id_number(id_number)):
        raise LineError("id_number_invalid", "id_number fails the GB 11643 check")
    region = raw.get("region_code")
    if not isinstance(region, str) or not regions.is_region_code(region):
        raise LineError("region_code_invalid", "region_code must be a region code of 6, 9, 12 or 15 digits")
    first, last = _day(raw.get("first_seen"), "first_seen"), _day(raw.get("last_seen"), "last_seen")
    if last < first:
        raise LineError("dates_reversed", "last_seen is before first_seen")
    check_window(last, today, horizon_days)
    current = raw.get("current_region_code")
    if current is not None and not (isinstance(current, str) and regions.is_region_code(current)):
        raise LineError("region_code_invalid", "current_region_code must be a region code of 6, 9, 12 or 15 digits")
    return TravelLine(record_id, phone, id_number, region, first, last, current)
