"""Scheduled tests: GET /test-schedules, POST /test-schedules/run."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from cordon import apidoc
from cordon.auth import Admin, FieldStaff
from cordon.deps import NowDep, SessionDep
from cordon.paging import Cursor, Limit
from services.testing import schemas
from services.testing.service import retests, schedules

router = APIRouter(tags=["schedules"])


@router.get(
    "/test-schedules",
    response_model=schemas.SchedulePage,
    **apidoc.operation("查询待检测任务", "List scheduled tests (due or overdue)", "region_not_found"),
)
async def list_schedules(
    session: SessionDep,
    principal: FieldStaff,
    now: NowDep,
    status: Literal["due", "overdue"] = "due",
    region_code: str | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
):
    page = await schedules.list_schedules(
        session=session, principal=principal, status=status, region_code=region_code, now=now, limit=limit, cursor=cursor
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post(
    "/test-schedules/run",
    response_model=schemas.ScheduleRun,
    **apidoc.operation("立即执行检测排期（运维）", "Run the test scheduler now (operators: admin only)"),
)
async def run_schedules(session: SessionDep, principal: Admin, now: NowDep):
    """Announce what is due and overdue now, as the daily run would, and the pool-positive retests past their
    deadline, as the retest check would (once each: a repeat finds nothing). Operators' work, not an official's:
    the clockwork runs it every day by itself."""
    counts = await schedules.announce(session=session, now=now)
    return {**counts, "retests_overdue": await retests.escalate(session=session, now=now)}
