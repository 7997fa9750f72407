"""One line of an imported list (协查函): a person to find, or the reason the line is refused.

The columns are named in English or with the Chinese headers real lists use.
"""

from __future__ import annotations

from dataclasses import dataclass

from cordon import pii, regions
from cordon.batches import LineError, json_object

# Header (lower case) -> column.
ALIASES: dict[str, str] = {
    "name": "name", "姓名": "name",
    "id_number": "id_number", "身份证号": "id_number", "身份证号码": "id_number", "证件号码": "id_number",
    "phone": "phone", "手机号": "phone", "手机号码": "phone", "联系电话": "phone",
    "region_code": "region_code", "所在地": "region_code", "所在地区": "region_code", "地区编码": "region_code",
    "reason": "reason", "原因": "reason", "协查原因": "reason",
}
# Each group needs one of its columns: who (an ID number or a phone), where, why.
REQUIRED: list[tuple[str, ...]] = [("id_number", "phone"), ("region_code",), ("reason",)]
LABELS = {"name": "姓名", "id_number": "身份证号", "phone": "手机号", "region_code": "所在地", "reason": "原因"}
MAX_REASON = 500
MAX_NAME = 100


@dataclass(frozen=True)
class ImportLine:
    name: str | None
    id_number: str | None  # normalized
    phone: str | None  # normalized
    region_code: str | None  # None: the importer's own place
    reason: str


def _text(raw: dict, column: str) -> str | None:
    value = raw.get(column)
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(int(value)) if float(value).is_integer() else str(value)
    if not isinstance(value, str):
        raise LineError("invalid_record", f"{column} must be text")
    return value.strip() or None


def columns(raw: dict) -> dict:
    """A JSON line's keys by ``ALIASES`` (English or Chinese); unknown keys dropped."""
    return {ALIASES[k.strip().lower()]: v for k, v in raw.items() if isinstance(k, str) and k.strip().lower() in ALIASES}


def parse(raw: object) -> ImportLine:
    """A checked line from a table row ({column: text}) or an NDJSON line (bytes, English or Chinese keys)."""
    row = columns(raw if isinstance(raw, dict) else json_object(raw))
    id_number, phone = _text(row, "id_number"), _text(row, "phone")
    if id_number is None and phone is None:
        raise LineError("person_missing", "a line needs an id_number or a phone")
    if id_number is not None and not pii.is_valid_id_number(id_number):
        raise LineError("id_number_invalid", "id_number fails the GB 11643 check")
    if phone is not None and not pii.is_valid_phone(phone):
        raise LineError("phone_invalid", "phone is not a mainland mobile number")
    region = _text(row, "region_code")
    if region is not None and not regions.is_region_code(region):
        raise LineError("region_code_invalid", "region_code must be a region code of 6, 9, 12 or 15 digits")
    reason = _text(row, "reason")
    if reason is None:
        raise LineError("reason_missing", "reason is required")
    name = _text(row, "name")
    return ImportLine(
        name=name[:MAX_NAME] if name else None,
        id_number=pii.normalize_id_number(id_number) if id_number else None,
        phone=pii.normalize_phone(phone) if phone else None,
        region_code=region,
        reason=reason[:MAX_REASON],
    )
