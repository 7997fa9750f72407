"""Grid accountability: rosters, responsible staff, follow-up duties, daily reports, the audit trail."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse

from cordon import apidoc, exports, messages
from cordon.auth import Admin, FieldStaff, Official
from cordon.bounds import AnyMoment, Day
from cordon.clock import local_date
from cordon.deps import NowDep, SessionDep
from cordon.errors import NotFound, RegionNotFound
from cordon.paging import Cursor, Limit
from services.registry import schemas
from services.registry.api import views
from services.registry.domain.accountability import missing_duties
from services.registry.service import audit, follow_up_duties, ledgers, people, policies, reports, rosters

router = APIRouter(tags=["accountability"])


def _roster(r, duties: list[str]) -> schemas.RosterRead:
    return schemas.RosterRead(region_code=r.region_code, staff=r.staff, missing=missing_duties(r.staff, duties),
                              updated_at=r.updated_at, updated_by=r.updated_by)


@router.put(
    "/regions/{region_code}/roster",
    response_model=schemas.RosterRead,
    **apidoc.operation(
        "设置包保责任名单", "Set a region's roster of responsible staff", "region_code_invalid", "region_unknown@422",
        "region_not_found",
        "duty_unknown",
    ),
)
async def put_roster(region_code: str, body: schemas.StaffSet, principal: Official, session: SessionDep, now: NowDep):
    roster = await rosters.put_roster(session=session, principal=principal, region_code=region_code,
                                      staff=body.model_dump(), now=now)
    return _roster(roster, await rosters.duties(session=session))


@router.get(
    "/regions/{region_code}/roster",
    response_model=schemas.RosterRead,
    **apidoc.operation("查看包保责任名单", "Read a region's roster", "roster_not_found"),
)
async def get_roster(region_code: str, principal: Official, session: SessionDep):
    return _roster(await rosters.get_roster(session=session, principal=principal, region_code=region_code), await rosters.duties(session=session))


def _responsible(person_id, row, duties: list[str]) -> schemas.ResponsibleStaffRead:
    return schemas.ResponsibleStaffRead(person_id=person_id, staff=row.staff, missing=missing_duties(row.staff, duties),
                                        roster_region=row.roster_region, assigned_at=row.assigned_at, assigned_by=row.assigned_by)


@router.get(
    "/persons/{person_id}/responsible-staff",
    response_model=schemas.ResponsibleStaffRead,
    **apidoc.operation(
        "查看人员的包保责任人", "Read a controlled person's five responsible staff", "person_not_found",
        "responsible_staff_not_found",
    ),
)
async def get_responsible_staff(person_id: uuid.UUID, principal: FieldStaff, session: SessionDep):
    person = await people.visible_person(session=session, principal=principal, person_id=person_id)
    row = await rosters.get_responsible(session=session, person=person)
    if row is None:
        raise NotFound("This person has no responsible staff (they are not under control).", code="responsible_staff_not_found")
    return _responsible(person.id, row, await rosters.duties(session=session))


@router.put(
    "/persons/{person_id}/responsible-staff",
    response_model=schemas.ResponsibleStaffRead,
    **apidoc.operation("设置人员的包保责任人", "Set a person's responsible staff", "person_not_found", "duty_unknown"),
)
async def put_responsible_staff(person_id: uuid.UUID, body: schemas.StaffSet, principal: Official, session: SessionDep, now: NowDep):
    person = await people.visible_person(session=session, principal=principal, person_id=person_id)
    row = await rosters.put_responsible(session=session, principal=principal, person=person, staff=body.model_dump(), now=now)
    return _responsible(person.id, row, await rosters.duties(session=session))


@router.get(
    "/follow-ups",
    response_model=schemas.FollowUpSlotPage,  # the document's schema; the answer is made once as bytes (views.follow_up_item)
    **apidoc.operation("查询健康随访任务", "List follow-up slots (due or missed)", "region_not_found"),
)
async def list_follow_ups(
    principal: FieldStaff,
    session: SessionDep,
    status: Literal["due", "missed"] = "due",
    region_code: str | None = Query(default=None, min_length=6, max_length=15),
    limit: Limit = 50,
    cursor: Cursor = None,
):
    if region_code and not principal.sees_region(region_code):
        raise RegionNotFound("No such region.")
    page = await follow_up_duties.list_slots(session=session, principal=principal, status=status, region_code=region_code,
                                             limit=limit, cursor=cursor)
    return Response(views.page_bytes(page, views.follow_up_item), media_type="application/json")


@router.post(
    "/daily-reports",
    status_code=201,
    response_model=schemas.DailyReportRead,
    **apidoc.operation(
        "提交日报告", "Submit a daily report (or a zero report)", "unit_not_found", "counts_required", "report_exists",
    ),
)
async def submit_daily_report(body: schemas.DailyReportCreate, principal: FieldStaff, session: SessionDep, now: NowDep):
    report = await reports.submit(session=session, principal=principal, data=body, now=now, policy=await policies.current(session=session))
    return schemas.DailyReportRead(region_code=report.region_code, date=report.report_on, status="submitted", late=report.late,
                                   zero=report.zero, counts=report.counts, note=report.note, submitted_at=report.submitted_at,
                                   submitted_by=report.submitted_by)


@router.get(
    "/daily-reports",
    response_model=schemas.DailyReportPage,
    **apidoc.operation("查询日报告提交情况", "See which units have and have not reported", "region_not_found"),
)
async def list_daily_reports(
    principal: Official,
    session: SessionDep,
    now: NowDep,
    date: Day | None = Query(default=None, description="The day reported on; today (China time) when absent."),
    status: Literal["missing", "submitted"] | None = None,
    region_code: str | None = Query(default=None, min_length=6, max_length=15),
    limit: Limit = 50,
    cursor: Cursor = None,
):
    page = await reports.listing(session=session, principal=principal, on=date or local_date(now), status=status,
                                 region_code=region_code, limit=limit, cursor=cursor)
    return schemas.DailyReportPage(items=page.items, next_cursor=page.next_cursor)


@router.get(
    "/daily-reports/export",
    response_class=StreamingResponse,
    **apidoc.operation("导出日报告台账", "Export the daily reports of a day (CSV or XLSX)", "region_not_found",
                       responses=exports.RESPONSES),
)
async def export_daily_reports(
    request: Request,
    principal: Official,
    now: NowDep,
    date: Day | None = Query(default=None, description="The day reported on; today (China time) when absent."),
    status: Literal["missing", "submitted"] | None = None,
    region_code: str | None = Query(default=None, min_length=6, max_length=15),
    format: Literal["csv", "xlsx"] = "csv",
):
    """Every reporting unit in scope on the day, with its report or that it is missing; audited with the filter."""
    on = date or local_date(now)
    reports.selection(principal=principal, on=on, status=status, region_code=region_code)  # refused before streaming
    lang = messages.language(request.headers.get("accept-language"))
    sessionmaker = request.app.state.sessionmaker
    filters = {"date": on.isoformat(), "status": status, "region_code": region_code}
    return exports.response(
        fmt=format, name=f"日报告台账-{on}" if lang == messages.ZH else f"daily-reports-{on}", columns=ledgers.REPORT_COLUMNS,
        lang=lang,
        rows=ledgers.report_rows(sessionmaker=sessionmaker, principal=principal, on=on, status=status, region_code=region_code, lang=lang),
        done=ledgers.audited(sessionmaker=sessionmaker, principal=principal, entity="daily_report",
                             detail={"filter": {k: v for k, v in filters.items() if v}, "format": format}),
    )


@router.get(
    "/daily-reports/summary",
    response_model=schemas.DailyReportSummary,
    **apidoc.operation("日报告汇总", "Roll the daily reports up one level at a time", "region_not_found", "region_unknown"),
)
async def summarize_daily_reports(
    principal: Official, session: SessionDep, now: NowDep, region_code: str = Query(min_length=6, max_length=15),
    date: Day | None = Query(default=None, description="The day reported on; today (China time) when absent."),
):
    return await reports.summary(session=session, principal=principal, region_code=region_code, on=date or local_date(now))


@router.get(
    "/daily-reports/draft",
    response_model=schemas.DailyReportDraft,
    **apidoc.operation("生成日报告草稿", "Draft a daily report from Cordon's own data", "unit_not_found"),
)
async def draft_daily_report(
    principal: FieldStaff, session: SessionDep, now: NowDep, region_code: str = Query(min_length=6, max_length=15), date: Day = Query(),
):
    return await reports.draft(session=session, principal=principal, region_code=region_code, on=date,
                               policy=await policies.current(session=session), now=now)


@router.get("/audit", response_model=schemas.AuditPage, **apidoc.operation("查询审计记录", "Search the audit trail"))
async def read_audit(
    principal: Admin,
    session: SessionDep,
    actor: str | None = Query(default=None, max_length=100),
    entity: str | None = Query(default=None, max_length=40),
    entity_id: str | None = Query(default=None, max_length=64),
    since: AnyMoment | None = Query(default=None, alias="from"),
    until: AnyMoment | None = Query(default=None, alias="to"),
    limit: Limit = 50,
    cursor: Cursor = None,
):
    page = await audit.search(session=session, actor=actor, entity=entity, entity_id=entity_id, since=since, until=until,
                              limit=limit, cursor=cursor)
    return schemas.AuditPage(items=[schemas.AuditRead.model_validate(r, from_attributes=True) for r in page.items],
                             next_cursor=page.next_cursor)
