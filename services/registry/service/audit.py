"""The append-only audit trail: who revealed or changed what, in the transaction that did it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cordon import paging
from cordon.auth import Principal
from cordon.clock import utcnow
from cordon.observability import request_id_var
from services.registry.models import Audit


def write(
    *, session: AsyncSession, actor: str, role: str, action: str, entity: str, entity_id: object,
    request_id: str | None = None, detail: dict | None = None,
) -> None:
    session.add(
        Audit(
            actor=actor, role=role, action=action, entity=entity, entity_id=str(entity_id),
            request_id=request_id or request_id_var.get(), at=utcnow(), detail=detail,
        )
    )


def record(
    *, session: AsyncSession, principal: Principal, action: str, entity: str, entity_id: object, detail: dict | None = None
) -> None:
    write(session=session, actor=principal.username or principal.subject, role=principal.role, action=action, entity=entity,
          entity_id=entity_id, detail=detail)


async def search(
    *, session: AsyncSession, actor: str | None, entity: str | None, entity_id: str | None,
    since: datetime | None, until: datetime | None, limit: int, cursor: str | None,
) -> paging.Page[Audit]:
    """Newest first, keyset on the row number."""
    query = select(Audit)
    if actor:
        query = query.where(Audit.actor == actor)
    if entity:
        query = query.where(Audit.entity == entity)
    if entity_id:
        query = query.where(Audit.entity_id == entity_id)
    if since:
        query = query.where(Audit.at >= since)
    if until:
        query = query.where(Audit.at < until)
    return await paging.keyset(session, query, order=(Audit.id,), limit=limit, cursor=cursor, descending=True)
