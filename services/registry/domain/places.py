"""Places of the tree as a client sends them: one place per line of an import (CSV or NDJSON), or a PUT.

Pure: bytes or objects in, a checked ``(code, name)`` out, or a ``LineError`` with a stable code.
Whether the place's parent exists is the service's question (it needs the database).
"""

from __future__ import annotations

import csv
import unicodedata

from cordon import regions
from cordon.batches import LineError, OverlongLine, json_object

MAX_NAME = 100
BOM = b"\xef\xbb\xbf"


def checked_code(code: object) -> str:
    if not regions.is_region_code(code):
        raise LineError("region_code_invalid", "code must be a region code of 6, 9, 12 or 15 digits")
    return code  # type: ignore[return-value]


def checked_name(name: object) -> str:
    """A place's name: text, trimmed, 1 to 100 characters, no control characters."""
    if not isinstance(name, str) or not (name := name.strip()):
        raise LineError("name_invalid", "name must be a non-empty text")
    if len(name) > MAX_NAME:
        raise LineError("name_too_long", f"name is longer than {MAX_NAME} characters")
    # A printable text has no character of category C (it may still hold spaces such as U+3000, which are
    # allowed): only the others are looked at one character at a time.
    if not name.isprintable() and any(unicodedata.category(c).startswith("C") for c in name):
        raise LineError("name_invalid", "name contains control characters")
    return name


def decoded(raw: bytes | OverlongLine) -> str:
    """A line's text: UTF-8 (a byte-order mark at the start is dropped); GBK or other bytes are refused, and so
    is a line too long to have been read."""
    if isinstance(raw, OverlongLine):
        raise LineError(raw.code, raw.message)
    try:
        return raw.removeprefix(BOM).decode("utf-8").rstrip("\r")
    except UnicodeDecodeError:
        raise LineError("encoding_invalid", "the line is not UTF-8 (save the file as UTF-8, not GBK)") from None


def csv_header(raw: bytes) -> tuple[int, int]:
    """The positions of the ``code`` and ``name`` columns in a CSV header line (other columns are ignored).

    Raises ``LineError`` (the caller refuses the whole file: without a header no line can be read).
    """
    fields = [f.strip().lower() for f in csv_fields(decoded(raw))]
    if "code" not in fields or "name" not in fields:
        raise LineError("csv_header_invalid", "the first line must be the header, with columns code and name")
    return fields.index("code"), fields.index("name")


def csv_fields(text: str) -> list[str]:
    """One CSV line's fields. A line without a quote is split at its commas (what the csv module would make of
    it, at a fraction of the cost); a quoted one is read by the csv module."""
    if '"' not in text:
        return text.split(",")
    try:
        return next(csv.reader([text]), [])
    except csv.Error:  # a carriage return inside the line
        raise LineError("invalid_record", "the line is not a CSV record") from None


def from_csv(raw: bytes, columns: tuple[int, int]) -> tuple[str, str]:
    fields = csv_fields(decoded(raw))
    if len(fields) <= max(columns):
        raise LineError("columns_missing", "the line has fewer columns than the header")
    return checked_code(fields[columns[0]].strip()), checked_name(fields[columns[1]])


def from_json(raw: object) -> tuple[str, str]:
    if isinstance(raw, (bytes, bytearray)):
        raw = decoded(bytes(raw))
    item = json_object(raw.encode() if isinstance(raw, str) else raw)
    return checked_code(item.get("code")), checked_name(item.get("name"))
