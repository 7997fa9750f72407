"""Big-data leads (大数据推送排查): list, read, assign, close with an outcome, import a list (协查函)."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse

from cordon import apidoc, exports, messages
from cordon.auth import OFFICIALS, FieldStaff, Official, Principal
from cordon.batches import BatchResult, batch_lines, table_kind, table_lines
from cordon.deps import NowDep, SessionDep, VaultDep
from cordon.errors import Forbidden
from cordon.paging import Cursor, Limit
from services.registry import schemas
from services.registry.api import views
from services.registry.domain import lead_lines
from services.registry.domain import leads as rules
from services.registry.service import audit, leads, ledgers

router = APIRouter(tags=["leads"])
MAX_IMPORT_BYTES = 512 * 1024 * 1024


def _read(lead, now, revealed: dict | None = None) -> schemas.LeadRead:
    return schemas.LeadRead(
        id=lead.id, region_code=lead.region_code, phone_masked=lead.phone_masked, id_number_masked=lead.id_number_masked,
        name=lead.name, source=lead.source, reasons=lead.reasons, status=lead.status, outcome=lead.outcome, note=lead.note,
        due_at=lead.due_at, overdue=rules.is_overdue(lead.status, lead.due_at, now), assignee=lead.assignee,
        person_id=lead.person_id, created_at=lead.created_at, closed_at=lead.closed_at, **(revealed or {}),
    )


@router.get(
    "/leads",
    response_model=schemas.LeadPage,  # the document's schema; the answer is made once as bytes (views.lead_item)
    **apidoc.operation("查询大数据排查线索", "List big-data leads in the caller's places (newest first)",
                       "region_code_invalid", "region_forbidden"),
)
async def list_leads(
    principal: FieldStaff,
    session: SessionDep,
    now: NowDep,
    status: Literal["open", "closed"] | None = None,
    region_code: str | None = Query(default=None, min_length=6, max_length=15),
    overdue: bool | None = Query(default=None, description="true: open leads past their due time; false: the others"),
    limit: Limit = 50,
    cursor: Cursor = None,
):
    page = await leads.list_leads(session=session, principal=principal, status=status, region_code=region_code,
                                  overdue=overdue, now=now, limit=limit, cursor=cursor)
    return Response(views.page_bytes(page, lambda row: views.lead_item(row, now)), media_type="application/json")


@router.get(
    "/leads/export",
    response_class=StreamingResponse,
    **apidoc.operation("导出排查线索台账", "Export the leads a list filter selects (CSV or XLSX)", "region_code_invalid",
                       "region_forbidden", responses=exports.RESPONSES),
)
async def export_leads(
    request: Request,
    principal: Official,
    vault: VaultDep,
    now: NowDep,
    status: Literal["open", "closed"] | None = None,
    region_code: str | None = Query(default=None, min_length=6, max_length=15),
    overdue: bool | None = Query(default=None, description="true: open leads past their due time; false: the others"),
    format: Literal["csv", "xlsx"] = "csv",
    reveal: bool = Query(default=False, description="ID numbers and phones in clear (officials; audited)"),
):
    """Every lead the filter selects (no limit), newest first, streamed; audited with its filter and row count."""
    query = leads.selection(principal=principal, status=status, region_code=region_code, overdue=overdue, now=now)
    lang = messages.language(request.headers.get("accept-language"))
    sessionmaker = request.app.state.sessionmaker
    filters = {"status": status, "region_code": region_code, "overdue": overdue}
    return exports.response(
        fmt=format, name="排查线索台账" if lang == messages.ZH else "leads", columns=ledgers.LEAD_COLUMNS, lang=lang,
        rows=ledgers.lead_rows(sessionmaker=sessionmaker, query=query, vault=vault, reveal=reveal, lang=lang, now=now),
        done=ledgers.audited(sessionmaker=sessionmaker, principal=principal, entity="lead",
                             detail={"filter": {k: v for k, v in filters.items() if v is not None}, "format": format,
                                     "reveal": reveal}),
    )


@router.get(
    "/leads/{lead_id}",
    response_model=schemas.LeadRead,
    **apidoc.operation("查看排查线索", "Read a lead (masked unless reveal=true)", "lead_not_found", "reveal_forbidden"),
)
async def read_lead(lead_id: uuid.UUID, principal: FieldStaff, session: SessionDep, vault: VaultDep, now: NowDep,
                    reveal: bool = False):
    lead = await leads.visible_lead(session=session, principal=principal, lead_id=lead_id)
    revealed = None
    if reveal:
        revealed = _reveal(session, vault, principal, lead)
        await session.commit()
    return _read(lead, now, revealed)


def _reveal(session, vault, principal: Principal, lead) -> dict:
    if principal.role not in OFFICIALS:
        raise Forbidden("Your role may not see personal data in clear.", code="reveal_forbidden")
    audit.record(session=session, principal=principal, action="reveal", entity="lead", entity_id=lead.id)
    return {
        "id_number": vault.decrypt(lead.id_number_enc) if lead.id_number_enc else None,
        "phone": vault.decrypt(lead.phone_enc) if lead.phone_enc else None,
    }


@router.post(
    "/leads/{lead_id}/assign",
    response_model=schemas.LeadRead,
    **apidoc.operation("指派排查线索", "Assign a lead to a grid worker or official of its place", "lead_not_found",
                       "lead_closed", "assignee_out_of_region"),
)
async def assign_lead(lead_id: uuid.UUID, body: schemas.LeadAssign, principal: Official, session: SessionDep, now: NowDep):
    lead = await leads.assign(session=session, principal=principal, lead_id=lead_id, username=body.username, now=now)
    return _read(lead, now)


@router.post(
    "/leads/{lead_id}/outcome",
    response_model=schemas.LeadRead,
    **apidoc.operation("登记排查结果", "Close a lead with its outcome", "lead_not_found", "lead_closed",
                       "person_id_required", "outcome_unknown", "person_not_found"),
)
async def record_outcome(lead_id: uuid.UUID, body: schemas.LeadOutcome, principal: FieldStaff, session: SessionDep, now: NowDep):
    lead = await leads.record_outcome(session=session, principal=principal, lead_id=lead_id, outcome=body.outcome,
                                      person_id=body.person_id, note=body.note, now=now)
    return _read(lead, now)


@router.post(
    "/leads/import",
    response_model=BatchResult,
    **apidoc.batch_operation(
        "导入协查名单", "Import a list of people to find (协查函): CSV, XLSX or NDJSON", schemas.LeadLine,
        schemas.LEAD_IMPORT_EXAMPLE, "columns_missing", "xlsx_invalid",
        csv="UTF-8 or GBK, a header row (name,id_number,phone,region_code,reason or 姓名,身份证号,手机号,所在地,原因), "
            "then one person a line. XLSX (the first sheet, the same header row) as "
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
)
async def import_leads(request: Request, principal: Official, vault: VaultDep, now: NowDep):
    if table_kind(request):
        lines = await table_lines(request, aliases=lead_lines.ALIASES, required=lead_lines.REQUIRED,
                                  labels=lead_lines.LABELS, max_bytes=MAX_IMPORT_BYTES)
    else:
        lines = await batch_lines(request)
    result = await leads.import_list(sessionmaker=request.app.state.sessionmaker, vault=vault, principal=principal,
                                     lines=lines, now=now)
    return result.result()
