"""Batch uploads (partners' travel pushes, sampling sites, labs): NDJSON streamed, or a bounded JSON array.

The body yields (line number, raw line or item), so a service checks line by line, keeps
the good ones and names the bad ones; an NDJSON body is never held whole in memory.
``ingest`` is the one loop: parse each line, hand the good ones on in chunks (each its
own transaction, one written while the next is parsed), answer one ``BatchResult``.
"""

from __future__ import annotations

import asyncio
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
YIELD_EVERY = 250  # lines parsed between two chances for the chunk being written to move on
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


async def batch_lines(request: Request) -> AsyncIterator[tuple[int, object]]:
    """The request's lines, by its content type (400, 413, 415, 422 problems for bodies that are not batches)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
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
