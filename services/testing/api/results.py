"""Labs: POST /results and /results/batch."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from cordon import apidoc, batches
from cordon.auth import Lab
from cordon.batches import BatchResult, batch_lines
from cordon.deps import NowDep, SessionDep
from services.testing import schemas
from services.testing.service import results

router = APIRouter(tags=["results"])


@router.post(
    "/results",
    status_code=201,
    response_model=schemas.ResultRead,
    **apidoc.operation(
        "登记检测结果", "Record a result (of a tube or a single sample)", "sample_not_found", "tested_before_collected",
        "result_conflict",
        responses={200: {"description": "the same result was posted before: nothing changed", "model": schemas.ResultRead}},
    ),
)
async def post_result(data: schemas.ResultCreate, session: SessionDep, principal: Lab, now: NowDep, response: Response):
    answer, changed = await results.record_result(session=session, principal=principal, data=data, now=now)
    if not changed:
        response.status_code = 200
    return answer


@router.post(
    "/results/batch",
    response_model=BatchResult,
    **apidoc.batch_operation("批量上传检测结果", "Upload results in bulk", schemas.ResultCreate, [schemas.RESULT_EXAMPLE]),
)
async def post_results_batch(request: Request, principal: Lab, now: NowDep):
    sessionmaker = request.app.state.sessionmaker

    async def record(chunk):
        async with sessionmaker() as session:
            return (await results.record_results(session=session, principal=principal, lines=chunk, now=now)).tally

    tally = await batches.ingest(
        await batch_lines(request), parse=lambda raw: batches.validated(raw, schemas.ResultCreate), record=record
    )
    return tally.result()
