"""The body of a batch upload: NDJSON streamed, or a bounded JSON array."""

from __future__ import annotations

from typing import AsyncIterator

import orjson
from fastapi import Request

from cordon.errors import DomainError
from services.testing.service import batches

MAX_JSON_ARRAY_BYTES = 32 * 1024 * 1024  # larger uploads use NDJSON, which is streamed

BATCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-ndjson": {"schema": {"type": "string", "description": "one JSON object per line"}},
            "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
        },
    }
}


async def batch_lines(request: Request) -> AsyncIterator[tuple[int, object]]:
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
            raise DomainError("A JSON body must be an array.", code="invalid_body", status=422)
        return batches.array_lines(items)
    if content_type in ("application/x-ndjson", "application/ndjson", "application/jsonl", "text/plain", ""):
        return batches.ndjson_lines(request.stream())
    raise DomainError("Send application/x-ndjson or a JSON array.", code="unsupported_media_type", status=415)
