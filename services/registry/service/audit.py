"""The append-only audit trail: who revealed or changed what, in the transaction that did it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from cordon.auth import Principal
from cordon.db import utcnow
from cordon.observability import request_id_var
from services.registry.models import Audit


def record(session: AsyncSession, principal: Principal, *, action: str, entity: str, entity_id: object) -> None:
    session.add(
        Audit(
            actor=principal.username or principal.subject,
            role=principal.role,
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            request_id=request_id_var.get(),
            at=utcnow(),
        )
    )
