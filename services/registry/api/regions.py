"""The place tree: /regions (read a place, its children; name one; import many)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from cordon import apidoc
from cordon.auth import Admin, Official, SignedIn
from cordon.batches import BatchResult, batch_lines, ndjson_lines
from cordon.deps import NowDep, SessionDep
from cordon.paging import Cursor, Limit
from services.registry import schemas
from services.registry.service import places

router = APIRouter(tags=["places"])

CSV_TYPES = ("text/csv", "application/csv")
def _read(region) -> schemas.RegionRead:
    return schemas.RegionRead(code=region.code, name=region.name, level=region.level, parent=region.parent)


@router.get(
    "/regions",
    response_model=schemas.RegionPage,
    **apidoc.operation("查询下级地区", "List a place's children (the provinces without parent)", "region_unknown"),
)
async def list_regions(
    principal: SignedIn,
    session: SessionDep,
    parent: str | None = Query(default=None, max_length=15, description="The place whose children to list; the provinces when absent."),
    limit: Limit = 50,
    cursor: Cursor = None,
):
    page = await places.children(session=session, parent=parent, limit=limit, cursor=cursor)
    return schemas.RegionPage(items=[_read(r) for r in page.items], next_cursor=page.next_cursor)


@router.get(
    "/regions/{code}",
    response_model=schemas.RegionRead,
    **apidoc.operation("查看地区", "Read a place", "region_unknown"),
)
async def get_region(code: str, principal: SignedIn, session: SessionDep):
    return _read(await places.get_region(session=session, code=code))


@router.put(
    "/regions/{code}",
    response_model=schemas.RegionRead,
    **apidoc.operation(
        "新建或更名地区", "Create or rename a place", "region_code_invalid", "name_invalid", "name_too_long",
        "region_forbidden", "region_parent_unknown",
    ),
)
async def put_region(code: str, body: schemas.RegionPut, principal: Official, session: SessionDep, now: NowDep):
    """Create the place, or rename it (200 either way)."""
    region, _ = await places.put_region(session=session, principal=principal, code=code, name=body.name, now=now)
    return _read(region)


@router.post(
    "/regions/import",
    response_model=BatchResult,
    **apidoc.batch_operation(
        "导入地区", "Import places (CSV code,name; NDJSON or a JSON array)", schemas.RegionLine,
        [{"code": "320413101", "name": "东城街道"}, {"code": "320413101001", "name": "华城社区"}], "csv_header_invalid",
        csv="UTF-8, a header line with columns code and name, then one place a line",
    ),
)
async def import_regions(request: Request, principal: Admin):
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    is_csv = content_type in CSV_TYPES
    lines = ndjson_lines(request.stream()) if is_csv else await batch_lines(request)
    tally = await places.import_regions(
        sessionmaker=request.app.state.sessionmaker, principal=principal, lines_in=lines, csv=is_csv
    )
    return tally.result()
