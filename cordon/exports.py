"""Exports (台账): a list streamed as CSV or XLSX, in constant memory whatever the number of rows.

- CSV is UTF-8 with a byte-order mark, so Excel opens Chinese text correctly; rows go out in chunks as
  they are read.
- XLSX is written by openpyxl's write-only workbook into an anonymous temporary file (unlinked at once:
  nothing stays on disk), a batch of rows at a time in a worker thread so the service keeps answering,
  then streamed. A sheet holds at most 1,048,576 rows (Excel's and Calc's limit): the rows go on in a
  second sheet, headed the same, and so on, so a city's ledger opens whole.
- A cell a spreadsheet would read as a formula (``=``, ``+``, ``-``, ``@`` first) is written as text
  (CSV/formula injection): a name like ``=HYPERLINK(...)`` stays a name.
- Headers are Chinese by default, English on request (the request's language).

The caller gives the columns, an async iterator of rows (tuples in column order) and what to do once
the last row is out (``done(count)``, e.g. the audit entry with the row count), which runs even when the
client goes away mid-way, with the count sent so far.
"""

from __future__ import annotations

import asyncio
import csv
import io
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal
from urllib.parse import quote

from fastapi.responses import StreamingResponse

from cordon.clock import CHINA
from cordon.messages import ZH

Format = Literal["csv", "xlsx"]
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
CSV_CHUNK_ROWS = 2000
XLSX_BATCH_ROWS = 5000
READ_BYTES = 1 << 16
SHEET_ROWS = 1_048_576  # the most rows a sheet holds in Excel and LibreOffice Calc, its header included
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
# The OpenAPI answer of an export route: a file in either format.
RESPONSES = {200: {"description": "The file, streamed", "content": {MEDIA_TYPES["csv"]: {}, MEDIA_TYPES["xlsx"]: {}}}}


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str

    def header(self, lang: str) -> str:
        return self.zh if lang == ZH else self.en


def cell(value: object) -> object:
    """A value as a spreadsheet cell: times in China time without the offset, text never a formula."""
    if isinstance(value, datetime):
        return value.astimezone(CHINA).replace(tzinfo=None, microsecond=0)
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


def _text(value: object) -> object:
    value = cell(value)
    if isinstance(value, datetime | date):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    return "" if value is None else value


async def csv_chunks(columns: Sequence[Column], rows: AsyncIterator[Sequence], lang: str, counter: list[int]) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow([c.header(lang) for c in columns])
    pending = 0
    async for row in rows:
        writer.writerow([_text(v) for v in row])
        counter[0] += 1
        pending += 1
        if pending >= CSV_CHUNK_ROWS:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue().encode("utf-8")


async def xlsx_chunks(
    columns: Sequence[Column], rows: AsyncIterator[Sequence], lang: str, counter: list[int], title: str
) -> AsyncIterator[bytes]:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    header = [c.header(lang) for c in columns]
    sheets = [0]  # the sheets begun
    room = [0]  # rows the current sheet still holds

    def append(batch: list[Sequence]) -> None:
        for row in batch:
            if not room[0]:
                sheets[0] += 1
                suffix = "" if sheets[0] == 1 else f" ({sheets[0]})"
                sheet = workbook.create_sheet(title[: 31 - len(suffix)] + suffix)
                sheet.append(header)
                room[0] = SHEET_ROWS - 1
            workbook.worksheets[-1].append([cell(v) for v in row])
            room[0] -= 1

    with tempfile.TemporaryFile() as file:
        batch: list[Sequence] = []
        async for row in rows:
            batch.append(row)
            if len(batch) >= XLSX_BATCH_ROWS:
                await asyncio.to_thread(append, batch)
                counter[0] += len(batch)
                batch = []
        await asyncio.to_thread(append, batch)
        counter[0] += len(batch)
        if not sheets[0]:  # no row at all: the header alone
            workbook.create_sheet(title[:31]).append(header)
        await asyncio.to_thread(workbook.save, file)
        await asyncio.to_thread(file.seek, 0)
        while chunk := await asyncio.to_thread(file.read, READ_BYTES):
            yield chunk


def response(
    *,
    fmt: Format,
    name: str,
    columns: Sequence[Column],
    rows: AsyncIterator[Sequence],
    lang: str,
    done: Callable[[int], Awaitable[None]],
) -> StreamingResponse:
    """The streamed file ``<name>.<fmt>`` (a Chinese name is sent as RFC 5987 ``filename*``)."""
    counter = [0]
    body = csv_chunks(columns, rows, lang, counter) if fmt == "csv" else xlsx_chunks(columns, rows, lang, counter, name)

    async def stream() -> AsyncIterator[bytes]:
        try:
            async for chunk in body:
                yield chunk
        finally:
            await done(counter[0])

    filename = f"{name}.{fmt}"
    disposition = f"attachment; filename=\"export.{fmt}\"; filename*=UTF-8''{quote(filename)}"
    return StreamingResponse(stream(), media_type=MEDIA_TYPES[fmt], headers={"Content-Disposition": disposition})
