"""Ledgers (台账): exports of people and of daily reports: every row a list's filter selects, streamed in constant
memory (cordon.exports), identity masked unless an official asks ``reveal=true``, and each export audited
with its filter and the number of rows it sent."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cordon.auth import Principal
from cordon.exports import Column
from cordon.messages import ZH
from cordon.pii import Vault
from services.registry.models import Lead, Person, Region, Roster
from services.registry.service import audit, reports

PERSON_COLUMNS = (
    Column("name", "姓名", "Name"),
    Column("id_number", "身份证号", "ID number"),
    Column("phone", "手机号", "Phone"),
    Column("region_code", "所在地代码", "Place code"),
    Column("region_name", "所在地", "Place"),
    Column("address", "住址", "Address"),
    Column("health_code", "健康码", "Health code"),
    Column("reasons", "赋码原因", "Reasons"),
    Column("tags", "标签", "Tags"),
    Column("entry_date", "入境日期", "Entry date"),
    Column("registered_at", "登记时间", "Registered at"),
)
COLORS = {ZH: {"green": "绿码", "yellow": "黄码", "red": "红码"}}
REPORT_COUNTS = (
    ("returnees_screened", "返乡人员排查数", "Returnees screened"),
    ("under_control", "在管控人数", "Under control"),
    ("fever", "发热人数", "Fever"),
    ("tests_taken", "核酸检测人数", "Tests taken"),
)
REPORT_COLUMNS = (
    Column("region_code", "单位代码", "Unit code"),
    Column("region_name", "单位", "Unit"),
    Column("date", "日期", "Date"),
    Column("status", "报告情况", "Status"),
    Column("late", "是否迟报", "Late"),
    Column("zero", "是否零报告", "Zero report"),
    *(Column(key, zh, en) for key, zh, en in REPORT_COUNTS),
    Column("note", "备注", "Note"),
    Column("submitted_at", "提交时间", "Submitted at"),
    Column("submitted_by", "提交人", "Submitted by"),
)
LEAD_COLUMNS = (
    Column("name", "姓名", "Name"),
    Column("id_number", "身份证号", "ID number"),
    Column("phone", "手机号", "Phone"),
    Column("region_code", "所在地代码", "Place code"),
    Column("region_name", "所在地", "Place"),
    Column("source", "来源", "Source"),
    Column("reasons", "推送原因", "Reasons"),
    Column("status", "状态", "Status"),
    Column("overdue", "是否逾期", "Overdue"),
    Column("due_at", "核查时限", "Due"),
    Column("assignee", "核查人", "Assignee"),
    Column("outcome", "核查结果", "Outcome"),
    Column("note", "情况说明", "Note"),
    Column("created_at", "推送时间", "Opened at"),
    Column("closed_at", "办结时间", "Closed at"),
)
LEAD_WORDS = {ZH: {
    "travel_record": "大数据推送", "import": "协查函", "open": "待核查", "closed": "已办结",
    "registered": "已登记管控", "unreachable": "无法联系", "left_area": "已离开本地", "not_found": "查无此人",
    "already_handled": "已落实管控",
}}
YES_NO = {ZH: ("是", "否"), "en": ("yes", "no")}
STATUS = {ZH: {"submitted": "已报告", "missing": "未报告"}, "en": {"submitted": "submitted", "missing": "missing"}}


def _reasons(reasons: list[dict] | None) -> str:
    """A person's or a lead's reasons in one cell: each one's detail (else its rule), separated by ；."""
    return "；".join(r.get("detail") or r.get("rule", "") for r in reasons or [])


def _flag(value: bool | None, lang: str) -> str:
    return "" if value is None else YES_NO[lang][0 if value else 1]


async def person_rows(
    *, sessionmaker: async_sessionmaker[AsyncSession], query: Select, vault: Vault, reveal: bool, lang: str
) -> AsyncIterator[tuple]:
    """The selected people, one tuple a person in PERSON_COLUMNS' order, read in batches from a server-side cursor."""
    statement = (
        query.with_only_columns(
            Person.id, Person.name, Person.id_number_masked, Person.id_number_enc, Person.phone_masked, Person.phone_enc,
            Person.region_code, Region.name, Person.address, Person.health_color, Person.health_reasons, Person.tags,
            Person.entry_date, Person.created_at,
        )
        .outerjoin(Region, Region.code == Person.region_code)
        .order_by(Person.id)
        .execution_options(yield_per=2000)
    )
    colors = COLORS.get(lang, {})
    async with sessionmaker() as session:
        result = await session.stream(statement)
        async for (_, name, id_masked, id_enc, phone_masked, phone_enc, region_code, place, address, color, reasons, tags,
                   entry_date, created_at) in result:
            yield (
                name,
                vault.decrypt(id_enc) if reveal else id_masked,
                (vault.decrypt(phone_enc) if reveal else phone_masked) if phone_enc else "",
                region_code,
                place or "",
                address or "",
                colors.get(color, color),
                _reasons(reasons),
                "、".join(tags or []),
                entry_date,
                created_at,
            )


async def report_rows(
    *, sessionmaker: async_sessionmaker[AsyncSession], principal: Principal, on: date, status: str | None,
    region_code: str | None, lang: str,
) -> AsyncIterator[tuple]:
    """Every reporting unit in scope on the day, with its report or that it is missing (the list's rows)."""
    query = reports.selection(principal=principal, on=on, status=status, region_code=region_code)
    statement = query.add_columns(Region.name).outerjoin(Region, Region.code == Roster.region_code).order_by(Roster.region_code)
    async with sessionmaker() as session:
        result = await session.stream(statement.execution_options(yield_per=2000))
        async for code, report, place in result:
            counts = report.counts if report else {}
            yield (
                code, place or "", on, STATUS[lang if lang in STATUS else ZH]["submitted" if report else "missing"],
                _flag(report.late if report else None, lang), _flag(report.zero if report else None, lang),
                *(counts.get(key, "") for key, _, _ in REPORT_COUNTS),
                (report.note or "") if report else "", report.submitted_at if report else None,
                report.submitted_by if report else "",
            )


async def lead_rows(
    *, sessionmaker: async_sessionmaker[AsyncSession], query: Select, vault: Vault, reveal: bool, lang: str, now: datetime
) -> AsyncIterator[tuple]:
    """The selected leads, newest first, one tuple a lead in LEAD_COLUMNS' order."""
    statement = (
        query.with_only_columns(
            Lead.name, Lead.id_number_masked, Lead.id_number_enc, Lead.phone_masked, Lead.phone_enc, Lead.region_code,
            Region.name, Lead.source, Lead.reasons, Lead.status, Lead.due_at, Lead.assignee, Lead.outcome, Lead.note,
            Lead.created_at, Lead.closed_at,
        )
        .outerjoin(Region, Region.code == Lead.region_code)
        .order_by(Lead.created_at.desc(), Lead.id.desc())
        .execution_options(yield_per=2000)
    )
    words = LEAD_WORDS.get(lang, {})
    async with sessionmaker() as session:
        result = await session.stream(statement)
        async for (name, id_masked, id_enc, phone_masked, phone_enc, region_code, place, source, reasons, status, due_at,
                   assignee, outcome, note, created_at, closed_at) in result:
            yield (
                name or "",
                (vault.decrypt(id_enc) if reveal else id_masked) if id_enc else "",
                (vault.decrypt(phone_enc) if reveal else phone_masked) if phone_enc else "",
                region_code or "", place or "", words.get(source, source),
                _reasons(reasons),
                words.get(status, status), _flag(status == "open" and due_at <= now, lang), due_at, assignee or "",
                words.get(outcome, outcome) if outcome else "", note or "", created_at, closed_at,
            )


def audited(
    *, sessionmaker: async_sessionmaker[AsyncSession], principal: Principal, entity: str, detail: dict
) -> Callable[[int], Awaitable[None]]:
    """What runs when an export has sent its last row (or stopped): the audit entry with its filter and count."""

    async def done(count: int) -> None:
        async with sessionmaker() as session:
            audit.record(session=session, principal=principal, action="export", entity=entity, entity_id="export",
                         detail={**detail, "rows": count})
            await session.commit()

    return done

