"""Batch uploads (partners' travel pushes, sampling sites, labs): NDJSON streamed, or a bounded JSON array.

The body yields (line number, raw line or item), so a service checks line by line, keeps
the good ones and names the bad ones; an NDJSON body is never held whole in memory.
``ingest`` is the one loop: parse each line, hand the good ones on in chunks (each its
own transaction, one written while the next is parsed), answer one ``BatchResult``.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

import orjson
from pydantic import BaseModel, Field, ValidationError

from cordon import messages
from cordon.errors import DomainError

if TYPE_CHECKING:  # the line-level half is used by domain code, which stays free of the web framework
    from starlette.requests import Request

MAX_JSON_ARRAY_BYTES = 32 * 1024 * 1024  # larger uploads use NDJSON, which is streamed
MAX_LINE_BYTES = 1024 * 1024  # an NDJSON line longer than this is refused by its number, unread
MAX_REJECTED_LISTED = 10_000  # the answer names at most this many bad lines; all are counted
CHUNK = 1000  # lines handed on at once, unless the service says otherwise
YIELD_EVERY = 50  # lines parsed between two chances for the chunk being written, and every other task, to move on
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl", "text/plain", "")

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class LineError(ValueError):
    """One line refused, with a stable code; the batch goes on."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class BatchRejected(BaseModel):
    line: int
    code: str
    message: str


class BatchResult(BaseModel):
    """What a batch upload answers: lines kept, lines already known, and the refused ones by number."""

    accepted: int
    duplicates: int
    rejected: list[BatchRejected]
    rejected_total: int = Field(description="all rejected lines; `rejected` lists at most the first 10,000")


@dataclass
class Tally:
    """A batch's answer: good lines kept, repeats, and each bad line with its number and code."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict] = field(default_factory=list)
    rejected_total: int = 0

    def reject(self, line: int, code: str, message: str) -> None:
        self.rejected_total += 1
        if len(self.rejected) < MAX_REJECTED_LISTED:
            self.rejected.append({"line": line, "code": code, "message": message})

    def add(self, other: Tally) -> None:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        for item in other.rejected:
            self.reject(item["line"], item["code"], item["message"])

    def result(self) -> BatchResult:
        """The answer, each line's message in the request's language (Chinese unless English is asked for)."""
        lang = messages.language_var.get()
        rejected = [{**r, "message": messages.localize(r["message"], lang) or r["message"]} for r in self.rejected]
        return BatchResult(accepted=self.accepted, duplicates=self.duplicates, rejected=rejected,
                           rejected_total=self.rejected_total)


def json_object(raw: object) -> dict:
    """One line (bytes) or array item as a JSON object; LineError otherwise."""
    if isinstance(raw, OverlongLine):
        raise LineError(raw.code, raw.message)
    if isinstance(raw, (bytes, bytearray, memoryview)):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise LineError("invalid_json", "the line is not valid JSON") from None
    if not isinstance(raw, dict):
        raise LineError("invalid_record", "a line must be a JSON object")
    return raw


def validated(raw: object, model: type[M]) -> M:
    """One line checked against ``model``; LineError with a stable code otherwise."""
    try:
        return model.model_validate(json_object(raw))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "line"
        raise LineError("validation_error", f"{where}: {first.get('msg', 'invalid')}") from None


async def ingest(
    lines: AsyncIterator[tuple[int, object]],
    *,
    parse: Callable[[object], T],
    record: Callable[[list[tuple[int, T]]], Awaitable[Tally]],
    chunk: int = CHUNK,
) -> Tally:
    """Parse every line (``parse`` raises LineError for a bad one) and ``record`` the good ones ``chunk`` at a
    time. One chunk is recorded while the next is parsed; chunks are recorded in order, one at a time, and a
    dropped request still finishes the chunk in flight."""
    tally, buffer = Tally(), []
    writing: asyncio.Task | None = None

    async def flush() -> None:
        nonlocal buffer, writing
        if writing is not None:
            tally.add(await writing)  # committed (or its error raised) before the next starts
            writing = None
        if buffer:
            writing = asyncio.create_task(record(buffer))
            buffer = []

    try:
        async for number, raw in lines:
            try:
                buffer.append((number, parse(raw)))
            except LineError as exc:
                tally.reject(number, exc.code, str(exc))
                continue
            if len(buffer) >= chunk:
                await flush()
            elif writing is not None and not len(buffer) % YIELD_EVERY:
                # A body already buffered by the server never suspends this loop: let the writer move on.
                await asyncio.sleep(0)
        await flush()
        await flush()  # and wait for the last chunk
    finally:
        if writing is not None and not writing.done():
            await asyncio.shield(writing)
    tally.rejected.sort(key=lambda r: r["line"])
    return tally


@dataclass(frozen=True)
class OverlongLine:
    """Stands for a line longer than ``MAX_LINE_BYTES``: skipped unread, so a parser refuses it by its number."""

    size: int  # bytes in the line

    code = "line_too_long"
    message = "行超过 1 MB，未读取（the line is longer than 1 MB and was not read）"


async def ndjson_lines(chunks: AsyncIterator[bytes], max_line: int = MAX_LINE_BYTES) -> AsyncIterator[tuple[int, bytes | OverlongLine]]:
    """(line number, line) from a streamed body; blank lines are skipped but counted.

    At most ``max_line`` bytes of an unfinished line are held: a longer line is skipped as it
    streams past (each byte looked at once) and yielded as an ``OverlongLine``.
    """
    number = 0
    pending = bytearray()  # the start of a line whose end has not arrived yet
    overlong = -1  # the size so far of a line being skipped, or -1
    async for chunk in chunks:
        parts = chunk.split(b"\n")
        for index, part in enumerate(parts):
            ended = index < len(parts) - 1
            if overlong >= 0:
                overlong += len(part)
            elif len(pending) + len(part) > max_line:
                overlong = len(pending) + len(part)
                pending.clear()
            elif ended and not pending:
                line = part  # the common case: a whole line inside one chunk, not copied again
            else:
                pending += part
                line = bytes(pending) if ended else b""
            if not ended:
                break
            number += 1
            if overlong >= 0:
                yield number, OverlongLine(overlong)
                overlong = -1
                continue
            pending.clear()
            if line.strip():
                yield number, line
    if overlong >= 0:
        yield number + 1, OverlongLine(overlong)
    elif pending.strip():
        yield number + 1, bytes(pending)


async def array_lines(items: list) -> AsyncIterator[tuple[int, object]]:
    for number, item in enumerate(items, start=1):
        yield number, item


def media_type(request: Request) -> str:
    """The request's content type without its parameters (``charset=...``), in lower case."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def batch_lines(request: Request) -> AsyncIterator[tuple[int, object]]:
    """The request's lines, by its content type (400, 413, 415, 422 problems for bodies that are not batches)."""
    content_type = media_type(request)
    if content_type == "application/json":
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_JSON_ARRAY_BYTES:
                raise DomainError("A JSON array is limited to 32 MB; send NDJSON.", code="payload_too_large", status=413)
        try:
            items = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise DomainError("The body is not valid JSON.", code="invalid_json", status=400) from None
        if not isinstance(items, list):
            raise DomainError("A JSON body must be an array of records.", code="invalid_body", status=422)
        return array_lines(items)
    if content_type in NDJSON_TYPES:
        return ndjson_lines(request.stream())
    raise DomainError("Send application/x-ndjson or a JSON array.", code="unsupported_media_type", status=415)


# --- tables: CSV (UTF-8 or GBK) and XLSX bodies, read a row at a time ----------------------------------

CSV_TYPES = ("text/csv", "application/csv")
XLSX_TYPES = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",)
SPOOL_IN_MEMORY = 1024 * 1024  # a larger body goes to an unnamed temporary file while it is read
ROWS_PER_HOP = 500  # rows read in the worker thread at a time


class ColumnsMissing(DomainError):
    code = "columns_missing"
    status = 422


def table_kind(request: Request) -> str | None:
    """``csv``, ``xlsx``, or None (NDJSON or a JSON array) by the request's content type."""
    content_type = media_type(request)
    return "csv" if content_type in CSV_TYPES else "xlsx" if content_type in XLSX_TYPES else None


async def _spool(request: Request, max_bytes: int):
    import tempfile

    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 (closed by the reader)
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            spool.close()
            raise DomainError(f"The upload is larger than {max_bytes // (1024 * 1024)} MB.", code="payload_too_large", status=413)
        spool.write(chunk)
    spool.seek(0)
    return spool


def _csv_encoding(head: bytes) -> str:
    """UTF-8 (with or without its BOM) when the start decodes as UTF-8, else GB 18030 (which reads GBK and GB 2312:
    what spreadsheet software in China saves a CSV as)."""
    import codecs

    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8-sig"
    except UnicodeDecodeError:
        return "gb18030"


def _cell(value: object) -> str | None:
    """A spreadsheet cell as text: numbers without a trailing .0 (a phone or a region code typed as a number)."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


class SpilledStrings:
    """A workbook's shared-string table kept in two unnamed temporary files (the texts, and where each begins),
    not in a list: a list made by a sheet of a million distinct names and ID numbers grows with it. Read by
    index with ``os.pread``; the last few thousand looked up are remembered (a column of one place or reason)."""

    RECENT = 4096

    def __init__(self) -> None:
        import tempfile

        self._texts = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        self._starts = tempfile.TemporaryFile()  # noqa: SIM115
        self._count = 0
        self._end = 0
        self._recent: dict[int, str] = {}

    def fill(self, source) -> SpilledStrings:
        """Read the table (sharedStrings.xml) one <si> at a time, each element dropped once read."""
        import struct

        from openpyxl.cell.text import Text
        from openpyxl.xml.constants import SHEET_MAIN_NS
        from openpyxl.xml.functions import iterparse

        item = f"{{{SHEET_MAIN_NS}}}si"
        texts, starts = self._texts, self._starts
        root = None
        for event, node in iterparse(source, events=("start", "end")):
            if root is None:
                root = node
            if event == "end" and node.tag == item:
                data = Text.from_tree(node).content.replace("x005F_", "").encode("utf-8")
                starts.write(struct.pack("<q", self._end))
                texts.write(data)
                self._end += len(data)
                self._count += 1
                root.clear()  # the <sst> root would keep every read <si> otherwise
        starts.write(struct.pack("<q", self._end))
        texts.flush()
        starts.flush()
        return self

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: int) -> str:
        import os
        import struct

        text = self._recent.get(index)
        if text is None:
            if not 0 <= index < self._count:
                raise IndexError(index)
            start, end = struct.unpack("<qq", os.pread(self._starts.fileno(), 16, 8 * index))
            text = os.pread(self._texts.fileno(), end - start, start).decode("utf-8")
            if len(self._recent) >= self.RECENT:
                self._recent.clear()
            self._recent[index] = text
        return text

    def close(self) -> None:
        self._texts.close()
        self._starts.close()


def _workbook(spool):
    """The workbook in openpyxl's read-only mode, its shared strings spilled to disk (``SpilledStrings``), its
    sheets not measured (``Sheet``)."""
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet
    from openpyxl.xml.constants import SHARED_STRINGS

    class Sheet(ReadOnlyWorksheet):
        def _get_size(self) -> None:
            """Not looked for: the rows are read as they come (``_sheet_rows``). openpyxl looks for the sheet's
            <dimension> by parsing the sheet; where a file has none (write-only workbooks, many exporters) that
            parses the whole sheet before its first row, and keeps every element it passed until the end."""

    class Reader(ExcelReader):
        def read_strings(self) -> None:
            self.shared_strings = SpilledStrings()
            part = self.package.find(SHARED_STRINGS)
            if part is not None:
                with self.archive.open(part.PartName[1:]) as src:
                    self.shared_strings.fill(src)

        def read_worksheets(self) -> None:
            """openpyxl's read-only reading of the sheet list, with ``Sheet`` for its sheets."""
            for sheet, rel in self.parser.find_sheets():
                if rel.target not in self.valid_files:
                    continue
                if "chartsheet" in rel.Type:
                    self.read_chartsheet(sheet, rel)
                    continue
                ws = Sheet(self.wb, sheet.name, rel.target, self.shared_strings)
                ws.sheet_state = sheet.state
                self.wb._sheets.append(ws)

    reader = Reader(spool, read_only=True, data_only=True)
    try:
        reader.read()
    except BaseException:
        if isinstance(getattr(reader, "shared_strings", None), SpilledStrings):
            reader.shared_strings.close()
        raise
    return reader.wb, reader.shared_strings


def _sheet_rows(book):
    """(row number, [cell value as text]) of the workbook's first sheet. openpyxl's own reader clears each row it
    has read but leaves it in the sheet's tree, so its memory grows with the rows; here each is dropped."""
    from openpyxl.worksheet._reader import ROW_TAG, WorkSheetParser
    from openpyxl.xml.constants import SHEET_MAIN_NS
    from openpyxl.xml.functions import iterparse

    sheet_data = f"{{{SHEET_MAIN_NS}}}sheetData"
    sheet = book.worksheets[0]
    with book._archive.open(sheet._worksheet_path) as src:
        parser = WorkSheetParser(src, sheet._shared_strings, data_only=True, epoch=book.epoch,
                                 date_formats=book._date_formats, timedelta_formats=book._timedelta_formats)
        rows = None
        for event, element in iterparse(src, events=("start", "end")):
            if event == "start":
                if element.tag == sheet_data:
                    rows = element
            elif element.tag == ROW_TAG:
                number, cells = parser.parse_row(element)
                values: list[str | None] = [None] * max((c["column"] for c in cells), default=0)
                for c in cells:
                    values[c["column"] - 1] = _cell(c["value"])
                if rows is not None:
                    rows.clear()
                yield number, values


def _rows(spool, kind: str):
    """(row number, [cell text]) of the first sheet or the CSV, one row at a time (openpyxl in read-only mode)."""
    if kind == "xlsx":
        import zipfile
        import zlib
        from xml.etree.ElementTree import ParseError

        try:
            book, strings = _workbook(spool)
        except (zipfile.BadZipFile, KeyError, ValueError, OSError, ParseError):
            raise DomainError("The body is not an XLSX workbook.", code="xlsx_invalid", status=422) from None
        number = 0
        try:
            for number, values in _sheet_rows(book):
                yield number, values
        except (zipfile.BadZipFile, zlib.error, EOFError, ParseError, KeyError, IndexError, ValueError):
            # The sheet is read as it is imported: a file damaged or cut short past its first rows breaks here.
            raise DomainError(
                f"The workbook cannot be read after row {number} (incomplete or damaged); "
                "the rows before it may already be imported.", code="xlsx_invalid", status=422,
            ) from None
        finally:
            book.close()
            strings.close()
        return
    import csv
    import io

    encoding = _csv_encoding(spool.read(64 * 1024))
    spool.seek(0)
    text = io.TextIOWrapper(spool, encoding=encoding, errors="replace", newline="")
    for number, row in enumerate(csv.reader(text), start=1):
        yield number, [_cell(v) for v in row]


async def table_lines(
    request: Request, *, aliases: dict[str, str], required: list[tuple[str, ...]], max_bytes: int,
    labels: dict[str, str] | None = None,
) -> AsyncIterator[tuple[int, dict]]:
    """The rows of a CSV or XLSX body as {column: text}, by the header row's names (``aliases``: header ->
    column). ``required``: groups of columns of which each needs one; 422 ``columns_missing`` names the absent
    (``missing``: each group as "a|b"; the detail with ``labels``, the headers a person knows them by).

    The body is spooled (to an unnamed temporary file past 1 MB) and read a few hundred rows at a time in a
    worker thread, so memory stays flat however long the list.
    """
    import anyio

    kind = table_kind(request)
    spool = await _spool(request, max_bytes)
    rows = _rows(spool, kind or "csv")

    def take() -> list:
        return list(itertools.islice(rows, ROWS_PER_HOP))

    try:
        batch = await anyio.to_thread.run_sync(take)
    except BaseException:
        spool.close()
        raise
    header = next(((n, r) for n, r in batch if any(r)), None)
    columns = [aliases.get((h or "").strip().lower().lstrip("\ufeff")) for h in (header[1] if header else [])]
    absent = [group for group in required if not any(c in columns for c in group)]
    if absent:
        spool.close()
        named = [" or ".join(f"{c} ({(labels or {}).get(c, c)})" for c in group) for group in absent]
        raise ColumnsMissing(
            f"The header row lacks: {', '.join(named)}.", missing=["|".join(group) for group in absent],
            errors=[{"field": "|".join(group), "message": "required"} for group in absent],
        )

    async def lines() -> AsyncIterator[tuple[int, dict]]:
        nonlocal batch
        try:
            start = batch.index(header) + 1
            batch = batch[start:]
            while batch:
                for number, row in batch:
                    if any(row):
                        yield number, {c: v for c, v in zip(columns, row) if c is not None}
                batch = await anyio.to_thread.run_sync(take)
        finally:
            spool.close()

    return lines()
