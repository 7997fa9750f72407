"""Big-data leads (大数据推送排查): opened in bulk from unmatched travel records and imported lists, closed by an
outcome or by the registration that finds the person, told overdue once by the clockwork.

Opening is set-based: the leads of a whole chunk are looked up in one query, inserted in one statement and
their events staged in one more, inside the chunk's own transaction; no round trip per record.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cordon import batches, paging, pii, projections, regions
from cordon.auth import Principal
from cordon.bus import outbox
from cordon.clock import local_date
from cordon.contracts import auth, registry
from cordon.db import Statistics, dialect_insert, skip_locked, slices
from cordon.errors import Conflict, DomainError, NotFound, RegionForbidden, RegionInvalid, Unprocessable
from cordon.pii import Vault
from cordon.policy import Policy
from services.registry.domain import lead_lines
from services.registry.domain import leads as rules
from services.registry.models import Lead, LeadImportLine, Person, StaffRef, TravelRecord
from services.registry.service import audit, evaluation, policies

OPEN = text("status = 'open'")
OVERDUE_BATCH = 500


class LeadNotFound(NotFound):
    code = "lead_not_found"


class LeadClosedError(Conflict):
    code = "lead_closed"


@dataclass
class Candidate:
    """Someone a record or a list line names: clear contact (for encryption), its blind indexes, where, why."""

    id_number: str | None
    phone: str | None
    id_number_index: str | None
    phone_index: str | None
    region_code: str | None
    reasons: list[dict]
    source: str
    name: str | None = None

    @property
    def key(self) -> str:
        return rules.match_key(self.id_number_index, self.phone_index)


@dataclass
class _Group:
    key: str
    members: list[Candidate] = field(default_factory=list)

    def first(self, attr: str):
        if len(self.members) == 1:  # the common case: one record, one person
            return getattr(self.members[0], attr)
        return next((getattr(m, attr) for m in self.members if getattr(m, attr)), None)

    def reasons(self) -> list[dict]:
        return rules.merge_reasons([], [r for m in self.members for r in m.reasons])


def _group(candidates: list[Candidate]) -> dict[str, _Group]:
    """Candidates of one person together: by ID number, and a phone-only one with a phone already seen."""
    groups: dict[str, _Group] = {}
    by_phone: dict[str, str] = {}
    for c in candidates:
        key = c.key if c.id_number_index or c.phone_index not in by_phone else by_phone[c.phone_index]
        groups.setdefault(key, _Group(key)).members.append(c)
        if c.phone_index:
            by_phone.setdefault(c.phone_index, key)
    return groups


_LEAD_COLUMNS = (Lead.id, Lead.id_number_index, Lead.phone_index, Lead.region_code, Lead.reasons, Lead.name,
                 Lead.due_at, Lead.source, Lead.phone_masked, Lead.id_number_masked)


async def _open_by_contact(session: AsyncSession, id_indexes: set[str], phone_indexes: set[str]) -> list:
    found: dict[uuid.UUID, object] = {}
    for column, values in ((Lead.id_number_index, id_indexes), (Lead.phone_index, phone_indexes)):
        for part in slices(sorted(values)):
            for row in await session.execute(select(*_LEAD_COLUMNS).where(column.in_(part), OPEN)):
                found[row.id] = row
    return list(found.values())


def _event(cls, *, lead_id, region_code, source, reasons, due_at, phone_masked, id_number_masked, name, **extra):
    """The event, built from values this module made and typed itself: not validated again (a push opens
    thousands at once, and validation was most of their cost)."""
    return cls.model_construct(
        lead_id=lead_id, region_code=region_code, source=source,
        reasons=[registry.LeadReason.model_construct(rule=r["rule"], detail=r["detail"]) for r in reasons], due_at=due_at,
        phone_masked=phone_masked, id_number_masked=id_number_masked,
        name_masked=pii.mask_name(name) if name else None, **extra,
    )


def _contact(vault: Vault, group: _Group) -> dict:
    id_number, phone = group.first("id_number"), group.first("phone")
    return {
        "id_number_index": group.first("id_number_index"),
        "id_number_enc": vault.encrypt(id_number) if id_number else None,
        "id_number_masked": pii.mask_id_number(id_number) if id_number else None,
        "phone_index": group.first("phone_index"),
        "phone_enc": vault.encrypt(phone) if phone else None,
        "phone_masked": pii.mask_phone(phone) if phone else None,
    }


def _remember(lead_of: dict[str, uuid.UUID], group: _Group, lead_id: uuid.UUID) -> None:
    lead_of[group.key] = lead_id
    for member in group.members:
        lead_of[member.key] = lead_id


async def open_leads(
    *, session: AsyncSession, vault: Vault, candidates: list[Candidate], now: datetime, policy: Policy
) -> dict[str, uuid.UUID]:
    """Open a lead per person the candidates name, or add their reasons to the person's open lead; stage
    ``registry.lead.opened`` for each lead opened or changed. In the caller's transaction (no commit).

    Returns the lead id of each candidate's key.
    """
    if not candidates:
        return {}
    groups = _group(candidates)
    existing = await _open_by_contact(
        session, {c.id_number_index for c in candidates if c.id_number_index}, {c.phone_index for c in candidates if c.phone_index}
    )
    by_id = {row.id_number_index: row for row in existing if row.id_number_index}
    by_phone = {row.phone_index: row for row in existing if row.phone_index}
    lead_of: dict[str, uuid.UUID] = {}
    changes: dict[uuid.UUID, dict] = {}  # lead id -> new values (and what its event needs)
    fresh: list[tuple[_Group, dict]] = []
    due = rules.due_at(now, policy)
    for group in groups.values():
        id_index, phone_index = group.first("id_number_index"), group.first("phone_index")
        row = by_id.get(id_index) if id_index else None
        row = row or (by_phone.get(phone_index) if phone_index else None)
        if row is None:
            values = {
                "id": uuid.uuid4(), "match_key": group.key, **_contact(vault, group), "name": group.first("name"),
                "region_code": group.first("region_code"), "source": group.members[0].source, "reasons": group.reasons(),
                "status": "open", "due_at": due, "created_at": now, "updated_at": now,
            }
            fresh.append((group, values))
            continue
        current = changes.get(row.id) or {
            "id": row.id, "reasons": list(row.reasons), "region_code": row.region_code, "name": row.name,
            "_due_at": row.due_at, "_source": row.source, "_phone_masked": row.phone_masked,
            "_id_number_masked": row.id_number_masked, "_changed": False,
        }
        merged = rules.merge_reasons(current["reasons"], group.reasons())
        if merged != current["reasons"]:
            current["reasons"], current["_changed"] = merged, True
        if current["region_code"] is None and group.first("region_code"):
            current["region_code"], current["_changed"] = group.first("region_code"), True
        if current["name"] is None and group.first("name"):
            current["name"], current["_changed"] = group.first("name"), True
        changes[row.id] = current
        _remember(lead_of, group, row.id)
    events: list[tuple[registry.Event, uuid.UUID]] = []
    if fresh:
        table = Lead.__table__
        stmt = dialect_insert(session, table).on_conflict_do_nothing(index_elements=["match_key"], index_where=OPEN)
        await session.execute(stmt, [v for _, v in fresh])
        inserted: set[uuid.UUID] = set()  # the ids are ours: those now stored went in (one query per slice)
        for part in slices([v["id"] for _, v in fresh]):
            inserted.update((await session.execute(select(table.c.id).where(table.c.id.in_(part)))).scalars())
        lost = []  # another transaction opened the same person's lead meanwhile: add to it instead
        for group, values in fresh:
            if values["id"] in inserted:
                _remember(lead_of, group, values["id"])
                events.append((_event(
                    registry.LeadOpened, lead_id=values["id"], region_code=values["region_code"], source=values["source"],
                    reasons=values["reasons"], due_at=due, phone_masked=values["phone_masked"],
                    id_number_masked=values["id_number_masked"], name=values["name"]), values["id"]))
            else:
                lost.extend(group.members)
        if lost:
            lead_of.update(await open_leads(session=session, vault=vault, candidates=lost, now=now, policy=policy))
    changed = [c for c in changes.values() if c["_changed"]]
    if changed:
        await session.execute(
            update(Lead).execution_options(synchronize_session=False),
            [{"id": c["id"], "reasons": c["reasons"], "region_code": c["region_code"], "name": c["name"], "updated_at": now}
             for c in changed],
        )
        for c in changed:
            events.append((_event(
                registry.LeadOpened, lead_id=c["id"], region_code=c["region_code"], source=c["_source"], reasons=c["reasons"],
                due_at=c["_due_at"], phone_masked=c["_phone_masked"], id_number_masked=c["_id_number_masked"], name=c["name"]),
                c["id"]))
    await outbox.add_many(session, events)
    return lead_of


def _closed_event(lead: Lead, **extra):
    return _event(
        registry.LeadClosed, lead_id=lead.id, region_code=lead.region_code, source=lead.source, reasons=lead.reasons,
        due_at=lead.due_at, phone_masked=lead.phone_masked, id_number_masked=lead.id_number_masked, name=lead.name,
        outcome=lead.outcome, person_id=lead.person_id, **extra,
    )


async def close_for_person(*, session: AsyncSession, person: Person, now: datetime) -> int:
    """The open leads a newly registered (or re-contacted) person answers close as ``registered``, in the
    caller's transaction; the caller evaluates the person against their records. The number closed."""
    keys = [Lead.id_number_index == person.id_number_index]
    if person.phone_index:
        keys.append(Lead.phone_index == person.phone_index)
    found = list((await session.execute(select(Lead).where(OPEN, or_(*keys)))).scalars())
    for lead in found:
        lead.status, lead.outcome, lead.person_id = "closed", "registered", person.id
        lead.closed_at, lead.updated_at = now, now
        await outbox.add(session, _closed_event(lead), key=lead.id)
    return len(found)


async def upsert_staff(*, session: AsyncSession, event: auth.UserFacts, at: datetime) -> None:
    """The gateway announced a staff user (auth.user.*): whom leads may be assigned to. In the consumer's transaction."""
    values = {"username": event.username, "role": event.role, "regions": list(event.regions), "active": event.active}
    await projections.keep_latest(session, StaffRef, key="user_id", key_value=event.user_id, values=values, at=at,
                                  unique=("username",))


# --- reading --------------------------------------------------------------------------------------


def _sees(principal: Principal, region_code: str | None) -> bool:
    return principal.role == "admin" or (region_code is not None and principal.sees_region(region_code))


async def visible_lead(*, session: AsyncSession, principal: Principal, lead_id: uuid.UUID, lock: bool = False) -> Lead:
    query = select(Lead).where(Lead.id == lead_id)
    if lock:
        query = query.with_for_update()
    lead = (await session.execute(query)).scalar_one_or_none()
    if lead is None or not _sees(principal, lead.region_code):
        raise LeadNotFound("No such lead.")
    return lead


# The columns a list's answer is made of (``views.lead_item``): the list reads them as plain rows, no entities.
LIST_COLUMNS = (
    Lead.id, Lead.region_code, Lead.phone_masked, Lead.id_number_masked, Lead.name, Lead.source, Lead.reasons, Lead.status,
    Lead.outcome, Lead.note, Lead.due_at, Lead.assignee, Lead.person_id, Lead.created_at, Lead.closed_at,
)


def selection(*, principal: Principal, status: str | None, region_code: str | None, overdue: bool | None, now: datetime,
              columns: tuple = (Lead,)) -> Select:
    """The leads a filter selects in a staff member's places (all of them, or the one asked); admins everything:
    whole leads, or only ``columns`` of them."""
    query = select(*columns)
    if region_code:
        if not regions.is_region_code(region_code):
            raise RegionInvalid("region_code must be a region code of 6, 9, 12 or 15 digits.")
        if not principal.sees_region(region_code):
            raise RegionForbidden("The region is outside your regions.")
        query = query.where(regions.within(Lead.region_code, region_code))
    elif principal.role != "admin":
        query = query.where(regions.within_any(Lead.region_code, principal.regions))
    if status:
        query = query.where(Lead.status == status)
    if overdue is True:
        query = query.where(OPEN, Lead.due_at <= now)
    elif overdue is False:
        query = query.where(or_(Lead.status != "open", Lead.due_at > now))
    return query


async def list_leads(
    *, session: AsyncSession, principal: Principal, status: str | None, region_code: str | None,
    overdue: bool | None, now: datetime, limit: int, cursor: str | None,
) -> paging.Page:
    """Newest first, as plain rows of ``LIST_COLUMNS`` (a list loads no entities)."""
    query = selection(principal=principal, status=status, region_code=region_code, overdue=overdue, now=now, columns=LIST_COLUMNS)
    return await paging.keyset(session, query, order=(Lead.created_at, Lead.id), limit=limit, cursor=cursor, descending=True)


# --- acting on one lead ---------------------------------------------------------------------------


async def assign(*, session: AsyncSession, principal: Principal, lead_id: uuid.UUID, username: str, now: datetime) -> Lead:
    """An official gives the lead to a grid worker or official of its place (known from the gateway's user events)."""
    lead = await visible_lead(session=session, principal=principal, lead_id=lead_id, lock=True)
    if lead.status != "open":
        raise LeadClosedError("The lead is already closed.")
    staff = (await session.execute(select(StaffRef).where(StaffRef.username == username))).scalar_one_or_none()
    if staff is None or not rules.may_hold(staff.role, staff.regions, lead.region_code, staff.active):
        raise Unprocessable(
            "The assignee must be an active grid worker or official whose places hold the lead's place.",
            code="assignee_out_of_region", errors=[{"field": "username", "message": "not a staff member of the lead's place"}],
        )
    lead.assignee, lead.updated_at = staff.username, now
    audit.record(session=session, principal=principal, action="assign", entity="lead", entity_id=lead.id)
    await session.commit()
    return lead


async def record_outcome(
    *, session: AsyncSession, principal: Principal, lead_id: uuid.UUID, outcome: str, person_id: uuid.UUID | None,
    note: str | None, now: datetime,
) -> Lead:
    lead = await visible_lead(session=session, principal=principal, lead_id=lead_id, lock=True)
    try:
        rules.check_outcome(lead.status, outcome, person_id)
    except rules.OutcomeRefused as refused:
        if refused.code == "lead_closed":
            raise LeadClosedError(str(refused)) from None
        if refused.code == "person_id_required":
            raise Unprocessable(str(refused), code="person_id_required", errors=[{"field": "person_id", "message": "required"}]) from None
        raise Unprocessable(str(refused), code="outcome_unknown", errors=[{"field": "outcome", "message": "invalid"}]) from None
    if person_id is not None:
        person = await session.get(Person, person_id)
        if person is None or not principal.sees_region(person.region_code):
            raise DomainError("No such person.", code="person_not_found", status=404)
    lead.status, lead.outcome, lead.person_id, lead.note = "closed", outcome, person_id, note
    lead.closed_at, lead.closed_by, lead.updated_at = now, principal.username or principal.subject, now
    audit.record(session=session, principal=principal, action="close", entity="lead", entity_id=lead.id)
    await outbox.add(session, _closed_event(lead, closed_by=lead.closed_by), key=lead.id)
    if person_id is not None:
        await _records_to_person(session, lead, person_id, now)
    await session.commit()
    return lead


async def _records_to_person(session: AsyncSession, lead: Lead, person_id: uuid.UUID, now: datetime) -> None:
    """The person found under another phone or ID number: the unmatched records of the lead's contact become
    theirs, and they are evaluated against them in this transaction (the measures start at once)."""
    keys = [column == value for column, value in ((TravelRecord.id_number_index, lead.id_number_index),
                                                  (TravelRecord.phone_index, lead.phone_index)) if value]
    if keys:
        await session.execute(update(TravelRecord).where(TravelRecord.person_id.is_(None), or_(*keys))
                              .values(person_id=person_id).execution_options(synchronize_session=False))
    policy = await policies.current(session=session)
    await evaluation.evaluate(session=session, person_ids=[person_id], now=now, today=local_date(now), policy=policy)


# --- overdue (clockwork) --------------------------------------------------------------------------


async def mark_overdue(*, session: AsyncSession, now: datetime, batch: int = OVERDUE_BATCH) -> int:
    """Open leads past their due time, each told once (``registry.lead.overdue``); rows another replica holds
    are skipped. In the caller's transaction; the number marked (call again while it is ``batch``)."""
    pick = skip_locked(session, select(Lead).where(OPEN, Lead.overdue_at.is_(None), Lead.due_at <= now)
                       .order_by(Lead.due_at).limit(batch))
    found = list((await session.execute(pick)).scalars())
    events = []
    for lead in found:
        lead.overdue_at, lead.updated_at = now, now
        events.append((_event(
            registry.LeadOverdue, lead_id=lead.id, region_code=lead.region_code, source=lead.source, reasons=lead.reasons,
            due_at=lead.due_at, phone_masked=lead.phone_masked, id_number_masked=lead.id_number_masked, name=lead.name,
            county_code=regions.county(lead.region_code) if lead.region_code else None, assignee=lead.assignee), lead.id))
    await outbox.add_many(session, events)
    return len(found)


async def counts(*, session: AsyncSession, region_code: str, now: datetime) -> dict[str, int]:
    """Open and overdue leads in a place (the daily report draft, the overview)."""
    open_count, overdue = (await session.execute(
        select(func.count(), func.count().filter(Lead.due_at <= now)).select_from(Lead)
        .where(OPEN, regions.within(Lead.region_code, region_code))
    )).one()
    return {"leads_open": open_count, "leads_overdue": overdue}


# --- imports (协查函) ------------------------------------------------------------------------------


def line_digest(key: str, region_code: str | None, reason: str) -> str:
    """Who (a blind key), where and why: the same line of the same list, whenever imported again."""
    return hashlib.sha256(f"{key}|{region_code or ''}|{reason}".encode()).hexdigest()


async def take_import_lines(
    *, session: AsyncSession, vault: Vault, lines: list[tuple[Candidate, str]], now: datetime, policy: Policy
) -> int:
    """Open the leads of new lines (a digest not seen before), remember the lines; the number new."""
    digests = {d for _, d in lines}
    known: set[str] = set()
    for part in slices(sorted(digests)):
        known.update((await session.execute(select(LeadImportLine.digest).where(LeadImportLine.digest.in_(part)))).scalars())
    new: dict[str, Candidate] = {}
    for candidate, digest in lines:
        if digest not in known and digest not in new:
            new[digest] = candidate
    if not new:
        return 0
    lead_of = await open_leads(session=session, vault=vault, candidates=list(new.values()), now=now, policy=policy)
    rows = [{"digest": d, "lead_id": lead_of[c.key], "created_at": now} for d, c in new.items()]
    await session.execute(dialect_insert(session, LeadImportLine).on_conflict_do_nothing(index_elements=["digest"]), rows)
    return len(new)


IMPORT_CHUNK = 1000
IMPORT_RULE = "assist_request"  # the reason of a listed person: a request for assistance (协查) from elsewhere


async def import_list(
    *, sessionmaker: async_sessionmaker[AsyncSession], vault: Vault, principal: Principal,
    lines: AsyncIterator[tuple[int, object]], now: datetime,
) -> batches.Tally:
    """A list from another place (协查函): every good line opens (or adds to) a lead, every bad one is named; a
    line already imported is a duplicate. Chunks of lines, each its own transaction."""
    async with sessionmaker() as session:
        policy = await policies.current(session=session)
        await session.commit()
    own_place = None if principal.role == "admin" else rules.common_place(principal.regions)

    def parse(raw: object) -> tuple[Candidate, str]:
        line = lead_lines.parse(raw)
        region = line.region_code or own_place
        if region is None and principal.role != "admin":
            raise batches.LineError("region_code_invalid", "region_code is required (your regions have no one place)")
        if region is not None and not principal.sees_region(region):
            raise batches.LineError("region_forbidden", "the place is outside your regions")
        candidate = Candidate(
            id_number=line.id_number, phone=line.phone,
            id_number_index=vault.index("id_number", line.id_number) if line.id_number else None,
            phone_index=vault.index("phone", line.phone) if line.phone else None,
            region_code=region, reasons=[{"rule": IMPORT_RULE, "detail": line.reason}], source="import", name=line.name,
        )
        return candidate, line_digest(candidate.key, region, line.reason)

    statistics = Statistics("lead", "lead_import_line")

    async def write(chunk: list[tuple[int, tuple[Candidate, str]]]) -> batches.Tally:
        async with sessionmaker() as session:
            new = await take_import_lines(session=session, vault=vault, lines=[v for _, v in chunk], now=now, policy=policy)
            await statistics.grew(session, new)
            await session.commit()
        return batches.Tally(accepted=new, duplicates=len(chunk) - new)

    result = await batches.ingest(lines, parse=parse, record=write, chunk=IMPORT_CHUNK)
    async with sessionmaker() as session:
        audit.record(session=session, principal=principal, action="import", entity="lead_list",
                     entity_id=f"{result.accepted}+{result.duplicates}")
        await session.commit()
    return result
