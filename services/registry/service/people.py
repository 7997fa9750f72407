"""People: register, change, read (masked unless revealed, and audited), list, look up."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Select, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cordon import paging, pii, regions
from cordon.auth import OFFICIALS, Principal
from cordon.bus import outbox
from cordon.clock import local_date
from cordon.contracts import registry
from cordon.errors import Conflict, DomainError, Forbidden, PersonNotFound
from cordon.pii import Vault
from services.registry.models import Exposure, Measure, Person, PersonMove, PersonTag, TravelRecord
from services.registry.service import audit, evaluation, health, leads, places, policies, reactions, rosters


class PersonExists(Conflict):
    code = "person_exists"


def _phone_fields(vault: Vault, phone: str | None) -> dict:
    if phone is None:
        return {"phone_index": None, "phone_enc": None, "phone_masked": None}
    normal = pii.checked_phone(phone)
    return {"phone_index": vault.index("phone", normal), "phone_enc": vault.encrypt(normal), "phone_masked": pii.mask_phone(normal)}


def facts_event(cls, person: Person, vault: Vault):
    return cls(
        person_id=person.id,
        region_code=person.region_code,
        id_number_index=person.id_number_index,
        id_number_masked=person.id_number_masked,
        phone_index=person.phone_index,
        phone_masked=person.phone_masked,
        phone_enc=person.phone_enc,
        name_masked=(person.name[:1] + "*" * (len(person.name) - 1)) if person.name else "",
        name_enc=vault.encrypt(person.name) if person.name else None,
        tags=list(person.tags or []),
        language=person.language,
    )


async def _set_tags(session: AsyncSession, person: Person, tags: list[str]) -> None:
    if person.id is not None:
        existing = set((await session.execute(select(PersonTag.tag).where(PersonTag.person_id == person.id))).scalars())
        for tag in existing - set(tags):
            await session.delete(await session.get(PersonTag, (tag, person.id)))
        tags = [t for t in tags if t not in existing]
    for tag in dict.fromkeys(tags):
        session.add(PersonTag(tag=tag, person_id=person.id))


async def _claim_pending(session: AsyncSession, person: Person) -> None:
    """Records and exposures that arrived before the person was registered become theirs."""
    keys = [TravelRecord.id_number_index == person.id_number_index]
    subjects = [f"id:{person.id_number_index}"]
    if person.phone_index:
        keys.append(TravelRecord.phone_index == person.phone_index)
        subjects.append(f"phone:{person.phone_index}")
    await session.execute(
        update(TravelRecord).where(TravelRecord.person_id.is_(None), or_(*keys)).values(person_id=person.id)
    )
    await session.execute(
        update(Exposure).where(Exposure.person_id.is_(None), Exposure.subject.in_(subjects)).values(person_id=person.id)
    )


async def register_person(*, session: AsyncSession, vault: Vault, principal: Principal, data, now: datetime) -> Person:
    id_number = pii.checked_id_number(data.id_number)
    places.check_region(principal, data.region_code)
    await places.require_place(session=session, code=data.region_code)
    index = vault.index("id_number", id_number)
    existing = (await session.execute(
        select(Person.id, Person.region_code).where(Person.id_number_index == index)
    )).first()
    if existing is not None:
        if principal.sees_region(existing.region_code):
            raise PersonExists("A person with this ID number is registered.", id=str(existing.id))
        # Registered in a region the caller cannot see: that it exists, and nothing more (no id, no place);
        # the attempt stays in the audit trail.
        await session.rollback()
        audit.record(session=session, principal=principal, action="duplicate_elsewhere", entity="person",
                     entity_id=existing.id, detail={"region_code": data.region_code})
        await session.commit()
        raise PersonExists("A person with this ID number is registered.")
    person = Person(
        id=uuid.uuid4(),
        id_number_index=index,
        id_number_enc=vault.encrypt(id_number),
        id_number_masked=pii.mask_id_number(id_number),
        name=data.name,
        region_code=data.region_code,
        address=data.address,
        household=data.household,
        tags=list(dict.fromkeys(data.tags)),
        entry_date=data.entry_date,
        language=data.language,
        created_at=now,
        updated_at=now,
        created_by=principal.username or principal.subject,
        **_phone_fields(vault, data.phone),
    )
    session.add(person)
    await health.start_code(session=session, person=person, now=now)
    await _set_tags(session, person, person.tags)
    await _claim_pending(session, person)
    await leads.close_for_person(session=session, person=person, now=now)  # found: the lead closes as registered
    await reactions.claim_waiting_results(session=session, person=person)  # the evaluation below refreshes the code with them
    audit.record(session=session, principal=principal, action="create", entity="person", entity_id=person.id)
    await outbox.add(session, facts_event(registry.PersonRegistered, person, vault), key=person.id)
    policy = await policies.current(session=session)
    await evaluation.evaluate(session=session, person_ids=[person.id], now=now, today=local_date(now), policy=policy)
    await session.commit()
    return person


async def update_person(*, session: AsyncSession, vault: Vault, principal: Principal, person: Person, changes: dict, now: datetime) -> Person:
    moved_from = None
    if "region_code" in changes and changes["region_code"] != person.region_code:
        places.check_region(principal, changes["region_code"])
        await places.require_place(session=session, code=changes["region_code"])
        if changes["region_code"][:6] != person.region_code[:6] and principal.role not in OFFICIALS:
            raise Forbidden("Moving a person to another county (转出/转入) is for an official who sees both.", code="move_forbidden")
        moved_from = person.region_code
    if "phone" in changes:
        for key, value in _phone_fields(vault, changes.pop("phone")).items():
            setattr(person, key, value)
    if "tags" in changes:
        changes["tags"] = list(dict.fromkeys(changes["tags"] or []))
        await _set_tags(session, person, changes["tags"])
    for key, value in changes.items():
        setattr(person, key, value)
    person.updated_at = now
    await _claim_pending(session, person)
    await leads.close_for_person(session=session, person=person, now=now)
    audit.record(session=session, principal=principal, action="update", entity="person", entity_id=person.id)
    if moved_from is not None:
        # The person keeps their id, and with it their measures, records, tests and audit trail.
        session.add(PersonMove(person_id=person.id, from_region=moved_from, to_region=person.region_code, moved_at=now,
                               moved_by=principal.username or principal.subject))
        audit.record(session=session, principal=principal, action="move", entity="person", entity_id=person.id)
        await rosters.reroute(session=session, person=person, now=now)
    await outbox.add(session, facts_event(registry.PersonUpdated, person, vault), key=person.id)
    policy = await policies.current(session=session)
    await evaluation.evaluate(session=session, person_ids=[person.id], now=now, today=local_date(now), policy=policy)
    await session.commit()
    return person


async def visible_person(*, session: AsyncSession, principal: Principal, person_id: uuid.UUID) -> Person:
    """The person, if the caller may see them (404 otherwise, even if they exist elsewhere)."""
    person = await session.get(Person, person_id)
    if person is None or not principal.sees_region(person.region_code):
        raise PersonNotFound("No such person.")
    return person


async def find_own(*, session: AsyncSession, principal: Principal) -> Person | None:
    """A resident's own person: by the person id in their token, else by their phone."""
    person = None
    if principal.person_id:
        person = await session.get(Person, principal.person_id)
    if person is None and principal.phone_index:
        person = (
            await session.execute(select(Person).where(Person.phone_index == principal.phone_index).limit(1))
        ).scalar_one_or_none()
    return person


async def own_person(*, session: AsyncSession, principal: Principal) -> Person:
    person = await find_own(session=session, principal=principal)
    if person is None:
        raise DomainError("You are not registered yet; a grid worker registers residents.", code="person_not_registered", status=404)
    return person


async def reveal(*, session: AsyncSession, vault: Vault, principal: Principal, person: Person) -> dict:
    if principal.role not in OFFICIALS:
        raise Forbidden("Your role may not see personal data in clear.", code="reveal_forbidden")
    audit.record(session=session, principal=principal, action="reveal", entity="person", entity_id=person.id)
    await session.commit()
    return {
        "id_number": vault.decrypt(person.id_number_enc),
        "phone": vault.decrypt(person.phone_enc) if person.phone_enc else None,
    }


async def lookup(*, session: AsyncSession, vault: Vault, principal: Principal, id_number: str) -> Person:
    index = vault.index("id_number", pii.checked_id_number(id_number))
    person = (await session.execute(select(Person).where(Person.id_number_index == index))).scalar_one_or_none()
    if person is None or not principal.sees_region(person.region_code):
        raise PersonNotFound("No person with this ID number.")
    return person


# The columns a list's answer is made of (``views.person_item``): the list reads them as plain rows, no entities.
LIST_COLUMNS = (
    Person.id, Person.name, Person.id_number_masked, Person.phone_masked, Person.region_code, Person.address,
    Person.household, Person.tags, Person.entry_date, Person.language, Person.health_color, Person.health_updated_at,
    Person.created_at, Person.updated_at,
)


def selection(*, principal: Principal, region_code: str | None, tag: str | None, health_code: str | None, q: str | None,
              measure: str | None = None, overdue: bool | None = None, columns: tuple = (Person,)) -> Select:
    """The people a list filter selects, inside the caller's places (the list and the export share it): whole
    people, or only ``columns`` of them."""
    query = select(*columns)
    if region_code:
        places.check_region(principal, region_code)
        query = query.where(regions.within(Person.region_code, region_code))
    elif principal.role != "admin":
        query = query.where(regions.within_any(Person.region_code, principal.regions))
    if tag:
        query = query.join(PersonTag, and_(PersonTag.person_id == Person.id, PersonTag.tag == tag))
    if health_code:
        query = query.where(Person.health_color == health_code)
    if q:
        query = query.where(Person.name.startswith(q, autoescape=True))
    if measure:  # under a measure of this kind now in force
        query = query.where(Person.id.in_(select(Measure.person_id).where(Measure.status == "active", Measure.kind == measure)))
    if overdue is not None:  # a scheduled test overdue (or not)
        query = query.where(Person.overdue_since.is_not(None) if overdue else Person.overdue_since.is_(None))
    return query


async def list_people(
    *,
    session: AsyncSession,
    principal: Principal,
    region_code: str | None,
    tag: str | None,
    health_code: str | None,
    q: str | None,
    limit: int,
    cursor: str | None,
    measure: str | None = None,
    overdue: bool | None = None,
) -> paging.Page:
    """One page of the people a filter selects, as plain rows of ``LIST_COLUMNS`` (a list loads no entities)."""
    query = selection(principal=principal, region_code=region_code, tag=tag, health_code=health_code, q=q, measure=measure,
                      overdue=overdue, columns=LIST_COLUMNS)
    return await paging.keyset(session, query, order=(Person.id,), limit=limit, cursor=cursor)


async def travel_records(*, session: AsyncSession, person: Person, limit: int, cursor: str | None) -> paging.Page:
    """The places a (visible) person was, newest first, as partners pushed them or the person declared them."""
    query = select(TravelRecord).where(TravelRecord.person_id == person.id)
    return await paging.keyset(session, query, order=(TravelRecord.last_seen, TravelRecord.seq), limit=limit, cursor=cursor,
                               descending=True)
