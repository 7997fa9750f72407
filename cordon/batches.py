"""Batch uploads (partners' travel pushes, sampling sites, labs): NDJSON streamed, or a bounded JSON array.

Each yields (line number, raw line or item), so a service checks line by line, keeps
the good ones and names the bad ones; an NDJSON body is never held whole in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import AsyncIterator

import orjson
from fastapi import Request

from cordon.errors import DomainError

MAX_JSON_ARRAY_BYTES = 32 * 1024 * 1024  # larger uploads use NDJSON, which is streamed
MAX_REJECTED_LISTED = 10_000  # the answer names at most this many bad lines; all are counted
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl", "text/plain", "")

# For the route's OpenAPI: the two bodies a batch route takes.
BATCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-ndjson": {"schema": {"type": "string", "description": "one JSON object per line"}},
            "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
        },
    }
}


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

    def add(self, other: "Tally") -> None:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        for item in other.rejected:
            self.reject(item["line"], item["code"], item["message"])


async def ndjson_lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[tuple[int, bytes]]:
    """(line number, line) from a streamed body; blank lines are skipped but counted."""
    number, rest = 0, b""
    async for chunk in chunks:
        rest += chunk
        *complete, rest = rest.split(b"\n")
        for line in complete:
            number += 1
            if line.strip():
                yield number, line
    if rest.strip():
        yield number + 1, rest


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
