"""Batch bodies from sampling sites and labs: NDJSON streamed line by line (or a JSON array), parsed
into checked lines, handed on in chunks so memory stays flat and a bad line never stops good ones."""

from __future__ import annotations

from typing import AsyncIterator, Awaitable, Callable, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from cordon.batches import Tally

T = TypeVar("T", bound=BaseModel)

CHUNK = 1000


class LineError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def parse(raw: bytes | object, model: type[T]) -> T:
    """One line checked against ``model``; LineError with a stable code otherwise."""
    if isinstance(raw, (bytes, bytearray)):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise LineError("invalid_json", "the line is not valid JSON") from None
    if not isinstance(raw, dict):
        raise LineError("invalid_record", "a line must be a JSON object")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "line"
        raise LineError("validation_error", f"{where}: {first.get('msg', 'invalid')}") from None


async def ingest(
    lines: AsyncIterator[tuple[int, object]],
    model: type[T],
    record_chunk: Callable[[list[tuple[int, T]]], Awaitable[Tally]],
    chunk: int = CHUNK,
) -> Tally:
    """Parse every line, record the good ones ``chunk`` at a time (each chunk its own transaction)."""
    tally, buffer = Tally(), []
    async for number, raw in lines:
        try:
            buffer.append((number, parse(raw, model)))
        except LineError as exc:
            tally.reject(number, exc.code, str(exc))
            continue
        if len(buffer) >= chunk:
            tally.add(await record_chunk(buffer))
            buffer = []
    if buffer:
        tally.add(await record_chunk(buffer))
    tally.rejected.sort(key=lambda r: r["line"])
    return tally
