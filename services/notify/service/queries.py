"""Reading notifications: the resident's inbox, the staff's lists; marking read."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cordon import paging, pii, regions
from cordon.auth import Principal
from cordon.errors import NotFound
from services.notify.domain import recipients
from services.notify.models import Notification, NotificationFold, PersonRef
from services.notify.service import places

RESIDENT_TYPES = ("person", "phone")  # a resident's own notices (staff notices about them are not theirs)


async def _page(session: AsyncSession, query, *, limit: int, cursor: str | None) -> paging.Page:
    """Newest first."""
    order = (Notification.created_at, Notification.id)
    return await paging.keyset(session, query, order=order, limit=limit, cursor=cursor, descending=True)


def _own(principal: Principal):
    """The caller's notifications. A staff member's: those addressed to their username. A resident's: by their
    person, or by the phone they signed in with (before registration); never a staff notice about them."""
    if principal.role != "resident":
        if not principal.username:
            return Notification.id.is_(None)
        return (Notification.recipient == principal.username) & (Notification.recipient_type == "staff")
    mine = [Notification.phone_index == principal.phone_index] if principal.phone_index else []
    if principal.person_id is not None:
        mine.append(Notification.person_id == principal.person_id)
    return (or_(*mine) & Notification.recipient_type.in_(RESIDENT_TYPES)) if mine else Notification.id.is_(None)


def _is_own(principal: Principal, row: Notification) -> bool:
    if principal.role != "resident":
        return bool(principal.username) and row.recipient_type == "staff" and row.recipient == principal.username
    return row.recipient_type in RESIDENT_TYPES and (
        (principal.person_id is not None and row.person_id == principal.person_id)
        or (principal.phone_index is not None and row.phone_index == principal.phone_index)
    )


async def inbox(*, session: AsyncSession, principal: Principal, limit: int, cursor: str | None) -> paging.Page:
    query = select(Notification).where(_own(principal), Notification.channel == "inbox")
    return await _page(session, query, limit=limit, cursor=cursor)


async def mark_read(*, session: AsyncSession, principal: Principal, notification_id: uuid.UUID, now: datetime) -> Notification:
    row = await session.get(Notification, notification_id)
    mine = row is not None and row.channel == "inbox" and _is_own(principal, row)
    if not mine:
        raise NotFound("No such notification.")
    if row.status == "sent":
        row.status, row.read_at = "read", now
        await session.commit()
    return row


async def list_notifications(
    *, session: AsyncSession, principal: Principal, recipient: str | None, status: str | None, channel: str | None,
    kind: str | None, limit: int, cursor: str | None,
) -> paging.Page:
    query = select(Notification)
    if principal.role != "admin":
        # An official sees what concerns their regions, and what was sent to them.
        scope = [regions.within_any(Notification.region_code, principal.regions)]
        if principal.username:
            scope.append(Notification.recipient == principal.username)
        query = query.where(or_(*scope) if scope else Notification.id.is_(None))
    for column, value in ((Notification.recipient, recipient), (Notification.status, status),
                          (Notification.channel, channel), (Notification.kind, kind)):
        if value is not None:
            query = query.where(column == value)
    return await _page(session, query, limit=limit, cursor=cursor)


async def get_notification(*, session: AsyncSession, principal: Principal, notification_id: uuid.UUID) -> Notification:
    row = await session.get(Notification, notification_id)
    visible = row is not None and (
        principal.role == "admin" or row.recipient == principal.username
        or (row.region_code is not None and principal.sees_region(row.region_code))
    )
    if not visible:
        raise NotFound("No such notification.")
    return row


@dataclass(frozen=True)
class PersonLink:
    """A person a staff notice is about: enough to open them and to know whom."""

    person_id: uuid.UUID
    region_code: str | None
    place: str | None
    name: str | None  # in full for staff in the person's care, masked for anyone else


@dataclass(frozen=True)
class Annotation:
    place: str | None
    people: list[PersonLink]


async def annotate(
    *, session: AsyncSession, principal: Principal, vault: pii.Vault, rows: list[Notification],
) -> dict[uuid.UUID, Annotation]:
    """For each notification: its place by name, and for a staff notice every person it stands for (its own and
    each one folded into it, in order), in three queries whatever the page."""
    ids = [r.id for r in rows if r.recipient_type == "staff"]
    folds: dict[uuid.UUID, list[tuple[uuid.UUID, str | None]]] = {}
    if ids:
        query = (select(NotificationFold.notification_id, NotificationFold.person_id, NotificationFold.region_code)
                 .where(NotificationFold.notification_id.in_(ids), NotificationFold.person_id.is_not(None))
                 .order_by(NotificationFold.notification_id, NotificationFold.created_at))
        for notification_id, person_id, region_code in (await session.execute(query)).all():
            folds.setdefault(notification_id, []).append((person_id, region_code))
    about: dict[uuid.UUID, list[tuple[uuid.UUID, str | None]]] = {}
    for row in rows:
        if row.recipient_type != "staff":
            continue
        chain = ([(row.person_id, row.region_code)] if row.person_id else []) + folds.get(row.id, [])
        once: dict[uuid.UUID, tuple[uuid.UUID, str | None]] = {}
        for person_id, region in chain:
            once.setdefault(person_id, (person_id, region))
        about[row.id] = list(once.values())
    person_ids = {p for chain in about.values() for p, _ in chain}
    people = {p.person_id: p for p in await session.execute(
        select(PersonRef.person_id, PersonRef.region_code, PersonRef.name_masked, PersonRef.name_enc)
        .where(PersonRef.person_id.in_(person_ids)))} if person_ids else {}
    codes = [r.region_code for r in rows if r.region_code] + [
        (people[p].region_code if p in people else region) or "" for chain in about.values() for p, region in chain]
    labels = await places.labels(session=session, codes=codes)

    def link(person_id: uuid.UUID, region_code: str | None) -> PersonLink:
        person = people.get(person_id)
        region = person.region_code if person is not None else region_code
        name = None
        if person is not None:
            full = person.name_enc and recipients.in_care(role=principal.role, regions_held=principal.regions, region_code=region)
            name = vault.decrypt(person.name_enc) if full else person.name_masked
        return PersonLink(person_id=person_id, region_code=region, place=labels.get(region) if region else None, name=name)

    return {
        row.id: Annotation(
            place=labels.get(row.region_code) if row.region_code else None,
            people=[link(p, region) for p, region in about.get(row.id, [])],
        )
        for row in rows
    }
