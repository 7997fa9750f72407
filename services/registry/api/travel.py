"""Partners' bulk travel pushes: /travel-records/batch."""

from __future__ import annotations

from fastapi import APIRouter, Request

from cordon.batches import BATCH_BODY, BatchResult, batch_lines
from cordon.clock import NowDep
from cordon.pii import VaultDep
from services.registry.api.deps import Partner
from services.registry.service import travel

router = APIRouter(tags=["travel records"])


@router.post(
    "/travel-records/batch",
    response_model=BatchResult,
    openapi_extra=BATCH_BODY,
)
async def push_travel_records(request: Request, principal: Partner, vault: VaultDep, now: NowDep):
    lines = await batch_lines(request)
    result = await travel.ingest(
        sessionmaker=request.app.state.sessionmaker, vault=vault, principal=principal, lines=lines, now=now
    )
    return result.result()
