"""One line of a partner's travel push, checked: a record or the reason it is refused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from cordon import pii, regions
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


def _day(value: object, field: str) -> date:
    if not isinstance(value, str):
        raise LineError("invalid_date", f"{field} must be a date (YYYY-MM-DD) or a time with offset")
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise LineError("invalid_date", f"{field} is not a date: {value[:40]!r}") from None
    # A moment is a day in China time, whatever offset the partner wrote it in.
    return moment.astimezone(CHINA).date() if moment.tzinfo else moment.date()


def parse(raw: bytes | dict) -> TravelLine:
    """A checked record from one NDJSON line (or one element of a JSON array)."""
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
    return TravelLine(record_id, phone, id_number, region, first, last)
