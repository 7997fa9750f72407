"""Partners' bulk travel pushes: /travel-records/batch."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request

from cordon.clock import NowDep
from cordon.errors import DomainError
from cordon.pii import VaultDep
from services.registry import schemas
from services.registry.api.deps import Partner
from services.registry.service import travel

router = APIRouter(tags=["travel records"])

MAX_JSON_ARRAY_BYTES = 32 * 1024 * 1024  # larger pushes use NDJSON, which is streamed


@router.post(
    "/travel-records/batch",
    response_model=schemas.BatchResult,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-ndjson": {"schema": {"type": "string", "description": "one travel record per line"}},
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            },
        }
    },
)
async def push_travel_records(request: Request, principal: Partner, vault: VaultDep, now: NowDep):
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        body = await _bounded_body(request)
        try:
            items = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise DomainError("The body is not valid JSON.", code="invalid_json", status=400) from None
        if not isinstance(items, list):
            raise DomainError("A JSON body must be an array of records.", code="invalid_body", status=422)
        lines = travel.json_array_lines(items)
    elif content_type in ("application/x-ndjson", "application/ndjson", "application/jsonl", "text/plain", ""):
        lines = travel.ndjson_lines(request.stream())
    else:
        raise DomainError("Send application/x-ndjson or a JSON array.", code="unsupported_media_type", status=415)
    result = await travel.ingest(
        sessionmaker=request.app.state.sessionmaker, vault=vault, principal=principal, lines=lines, now=now
    )
    return schemas.BatchResult(
        accepted=result.accepted, duplicates=result.duplicates, rejected=result.rejected, rejected_total=result.rejected_total
    )


async def _bounded_body(request: Request) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_JSON_ARRAY_BYTES:
            raise DomainError("A JSON array push is limited to 32 MB; send NDJSON.", code="payload_too_large", status=413)
    return bytes(body)
