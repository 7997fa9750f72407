"""Sampling sites: POST /samples and /samples/batch."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from cordon import apidoc, batches
from cordon.auth import Lab
from cordon.batches import BatchResult, batch_lines
from cordon.deps import NowDep, SessionDep, VaultDep
from services.testing import schemas
from services.testing.service import samples

router = APIRouter(tags=["samples"])


@router.post(
    "/samples",
    status_code=201,
    response_model=schemas.SampleRead,
    **apidoc.operation(
        "登记采样", "Record a sample", "id_number_invalid", "collected_at_in_future", "pool_too_large",
        "barcode_conflict", "tube_already_tested",
        responses={200: {"description": "the same sample was posted before: nothing changed", "model": schemas.SampleRead}},
    ),
)
async def post_sample(data: schemas.SampleCreate, session: SessionDep, principal: Lab, vault: VaultDep, now: NowDep, response: Response):
    sample, created = await samples.record_sample(session=session, vault=vault, principal=principal, data=data, now=now)
    if not created:
        response.status_code = 200
    return sample


@router.post(
    "/samples/batch",
    response_model=BatchResult,
    **apidoc.batch_operation("批量登记采样", "Record samples in bulk", schemas.SampleCreate, [schemas.SAMPLE_EXAMPLE]),
)
async def post_samples_batch(request: Request, principal: Lab, vault: VaultDep, now: NowDep):
    sessionmaker = request.app.state.sessionmaker

    async def record(chunk):
        async with sessionmaker() as session:
            return (await samples.record_samples(session=session, vault=vault, principal=principal, lines=chunk, now=now)).tally

    tally = await batches.ingest(
        await batch_lines(request), parse=lambda raw: batches.validated(raw, schemas.SampleCreate), record=record
    )
    return tally.result()
