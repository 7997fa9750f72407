"""The command office's figures: /stats (from the read model kept by service/stats.py)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from cordon import apidoc
from cordon.auth import FieldStaff
from cordon.bounds import Day
from cordon.clock import local_date
from cordon.deps import NowDep, SessionDep
from services.registry import schemas
from services.registry.service import stats

router = APIRouter(tags=["stats"])

RegionQuery = Query(default=None, min_length=6, max_length=15,
                    description="the place asked about (default: your one place; an admin: the whole country)")


@router.get(
    "/stats/overview",
    response_model=schemas.StatsOverview,
    **apidoc.operation("查看辖区防控概况", "Overview of a region: people by colour, measures, overdue tests, leads, "
                       "missed follow-ups, reports and positives by day", "region_code_invalid", "region_forbidden"),
)
async def overview(principal: FieldStaff, session: SessionDep, now: NowDep,
                   region_code: str | None = RegionQuery, date: Day | None = None):
    return await stats.overview(session=session, principal=principal, region_code=region_code, on=date or local_date(now))


@router.get(
    "/stats/by-place",
    response_model=schemas.StatsByPlace,
    **apidoc.operation("按下级地区查看防控概况", "The overview's counts for each place one level down, with report status",
                       "region_code_invalid", "region_forbidden"),
)
async def by_place(principal: FieldStaff, session: SessionDep, now: NowDep,
                   region_code: str | None = RegionQuery, date: Day | None = None):
    return await stats.by_place(session=session, principal=principal, region_code=region_code, on=date or local_date(now))
