"""Risk areas: /risk-areas."""

from __future__ import annotations

from fastapi import APIRouter

from cordon import apidoc
from cordon.auth import Official, SignedIn
from cordon.deps import NowDep, SessionDep
from cordon.paging import Cursor, Limit
from services.registry import schemas
from services.registry.service import risk_areas

router = APIRouter(tags=["risk_areas"])


def _read(area, affected: int | None = None) -> schemas.RiskAreaRead:
    return schemas.RiskAreaRead(
        region_code=area.region_code, level=area.level, local_cases=area.local_cases, name=area.name, effective_from=area.effective_from,
        updated_at=area.updated_at, affected_people=affected,
    )


@router.put(
    "/risk-areas/{region_code}",
    response_model=schemas.RiskAreaRead,
    **apidoc.operation("设定风险地区", "Set a risk area's level", "region_code_invalid", "region_unknown@422"),
)
async def set_risk_area(region_code: str, body: schemas.RiskAreaPut, principal: Official, session: SessionDep, now: NowDep):
    area, affected = await risk_areas.set_risk_area(
        session=session, principal=principal, region_code=region_code, data=body, now=now
    )
    return _read(area, affected)


@router.get("/risk-areas", response_model=schemas.RiskAreaPage, **apidoc.operation("查询中高风险地区", "List the risk areas"))
async def list_risk_areas(
    principal: SignedIn, session: SessionDep, include_low: bool = False, limit: Limit = 50, cursor: Cursor = None
):
    page = await risk_areas.list_risk_areas(session=session, include_low=include_low, limit=limit, cursor=cursor)
    return schemas.RiskAreaPage(items=[_read(a) for a in page.items], next_cursor=page.next_cursor)
