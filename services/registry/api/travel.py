"""Partners' bulk travel pushes: /travel-records/batch."""

from __future__ import annotations

from fastapi import APIRouter, Request

from cordon import apidoc
from cordon.auth import Partner
from cordon.batches import BatchResult, batch_lines
from cordon.deps import NowDep, VaultDep
from services.registry import schemas
from services.registry.service import travel

router = APIRouter(tags=["travel"])


@router.post(
    "/travel-records/batch",
    response_model=BatchResult,
    **apidoc.batch_operation("批量推送行程记录", "Push travel records in bulk", schemas.TravelRecordLine, schemas.TRAVEL_PUSH_EXAMPLE),
)
async def push_travel_records(request: Request, principal: Partner, vault: VaultDep, now: NowDep):
    lines = await batch_lines(request)
    result = await travel.ingest(
        sessionmaker=request.app.state.sessionmaker, vault=vault, principal=principal, lines=lines, now=now
    )
    return result.result()
