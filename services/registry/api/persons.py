"""People: /persons."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse

from cordon import apidoc, exports, messages
from cordon.auth import FieldStaff, Official
from cordon.deps import NowDep, SessionDep, VaultDep
from cordon.paging import Cursor, Limit
from services.registry import schemas
from services.registry.api import views
from services.registry.schemas import Kind
from services.registry.service import ledgers, people

router = APIRouter(tags=["persons"])


@router.post(
    "/persons",
    status_code=201,
    response_model=schemas.PersonRead,
    **apidoc.operation(
        "登记人员", "Register a person", "person_exists", "id_number_invalid", "phone_invalid", "region_code_invalid",
        "region_unknown@422", "region_forbidden",
    ),
)
async def register_person(body: schemas.PersonCreate, principal: FieldStaff, session: SessionDep, vault: VaultDep, now: NowDep):
    person = await people.register_person(session=session, vault=vault, principal=principal, data=body, now=now)
    return views.person(person)


@router.get(
    "/persons",
    response_model=schemas.PersonPage,  # the document's schema; the answer is made once as bytes (views.person_page)
    **apidoc.operation("查询人员列表", "List the people in your regions", "region_forbidden"),
)
async def list_persons(
    principal: FieldStaff,
    session: SessionDep,
    region_code: str | None = Query(default=None, min_length=6, max_length=15),
    tag: str | None = Query(default=None, max_length=40),
    health_code: Literal["green", "yellow", "red"] | None = None,
    q: str | None = Query(default=None, min_length=1, max_length=100),
    measure: Kind | None = Query(default=None, description="under a measure of this kind now in force"),
    overdue: bool | None = Query(default=None, description="a scheduled test is overdue (true) or not (false)"),
    limit: Limit = 50,
    cursor: Cursor = None,
):
    page = await people.list_people(
        session=session, principal=principal, region_code=region_code, tag=tag, health_code=health_code, q=q, limit=limit,
        cursor=cursor, measure=measure, overdue=overdue,
    )
    return Response(views.person_page(page), media_type="application/json")


@router.get(
    "/persons/export",
    response_class=StreamingResponse,
    **apidoc.operation("导出人员台账", "Export the people a list filter selects (CSV or XLSX)", "region_forbidden",
                       responses=exports.RESPONSES),
)
async def export_persons(
    request: Request,
    principal: Official,
    vault: VaultDep,
    region_code: str | None = Query(default=None, min_length=6, max_length=15),
    tag: str | None = Query(default=None, max_length=40),
    health_code: Literal["green", "yellow", "red"] | None = None,
    q: str | None = Query(default=None, min_length=1, max_length=100),
    measure: Kind | None = Query(default=None, description="under a measure of this kind now in force"),
    overdue: bool | None = Query(default=None, description="a scheduled test is overdue (true) or not (false)"),
    format: Literal["csv", "xlsx"] = "csv",
    reveal: bool = Query(default=False, description="ID numbers and phones in clear (officials; audited)"),
):
    """Every person the filter selects (no limit), streamed; the export is audited with its filter and row count."""
    filters = {"region_code": region_code, "tag": tag, "health_code": health_code, "q": q, "measure": measure, "overdue": overdue}
    query = people.selection(principal=principal, **filters)
    lang = messages.language(request.headers.get("accept-language"))
    sessionmaker = request.app.state.sessionmaker
    return exports.response(
        fmt=format, name="人员台账" if lang == messages.ZH else "people", columns=ledgers.PERSON_COLUMNS, lang=lang,
        rows=ledgers.person_rows(sessionmaker=sessionmaker, query=query, vault=vault, reveal=reveal, lang=lang),
        done=ledgers.audited(sessionmaker=sessionmaker, principal=principal, entity="person",
                             detail={"filter": {k: v for k, v in filters.items() if v is not None}, "format": format, "reveal": reveal}),
    )


@router.get(
    "/persons/lookup",
    response_model=schemas.PersonRead,
    **apidoc.operation("按身份证号码查找人员", "Find a person by ID number", "id_number_invalid", "person_not_found"),
)
async def lookup_person(
    principal: FieldStaff, session: SessionDep, vault: VaultDep, id_number: str = Query(min_length=1, max_length=32)
):
    return views.person(await people.lookup(session=session, vault=vault, principal=principal, id_number=id_number))


@router.get(
    "/persons/{person_id}",
    response_model=schemas.PersonRead,
    **apidoc.operation("查看人员信息", "Read a person (masked unless reveal=true)", "person_not_found", "reveal_forbidden"),
)
async def read_person(person_id: uuid.UUID, principal: FieldStaff, session: SessionDep, vault: VaultDep, reveal: bool = False):
    person = await people.visible_person(session=session, principal=principal, person_id=person_id)
    revealed = await people.reveal(session=session, vault=vault, principal=principal, person=person) if reveal else None
    return views.person(person, revealed)


@router.patch(
    "/persons/{person_id}",
    response_model=schemas.PersonRead,
    **apidoc.operation(
        "修改人员信息", "Update a person", "person_not_found", "phone_invalid", "region_code_invalid", "region_unknown@422",
        "region_forbidden", "move_forbidden",
    ),
)
async def update_person(
    person_id: uuid.UUID, body: schemas.PersonUpdate, principal: FieldStaff, session: SessionDep, vault: VaultDep, now: NowDep
):
    person = await people.visible_person(session=session, principal=principal, person_id=person_id)
    changes = body.model_dump(exclude_unset=True)
    person = await people.update_person(session=session, vault=vault, principal=principal, person=person, changes=changes, now=now)
    return views.person(person)


@router.get(
    "/persons/{person_id}/health-code",
    response_model=schemas.HealthCodeRead,
    **apidoc.operation("查询人员健康码", "Read a person's health code, with its reasons", "person_not_found"),
)
async def read_health_code(person_id: uuid.UUID, principal: FieldStaff, session: SessionDep):
    return views.health_code(await people.visible_person(session=session, principal=principal, person_id=person_id))


@router.get(
    "/persons/{person_id}/travel-records",
    response_model=schemas.TravelRecordPage,
    **apidoc.operation("查看人员行程记录", "A person's travel records, newest first", "person_not_found"),
)
async def list_travel_records(person_id: uuid.UUID, principal: FieldStaff, session: SessionDep, limit: Limit = 50,
                              cursor: Cursor = None):
    person = await people.visible_person(session=session, principal=principal, person_id=person_id)
    page = await people.travel_records(session=session, person=person, limit=limit, cursor=cursor)
    return schemas.TravelRecordPage(items=[
        schemas.TravelRecordRead(region_code=r.region_code, first_seen=r.first_seen, last_seen=r.last_seen,
                                 source="declaration" if r.partner_id.startswith("self:") else "partner")
        for r in page.items
    ], next_cursor=page.next_cursor)
