"""The active policy: the highest stored version, or the default document before any was stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cordon import paging, policy
from cordon.auth import Principal
from cordon.bus import outbox
from cordon.contracts.registry import PolicyChanged
from services.registry.models import PolicyVersion
from services.registry.service import audit

# Parsed documents by (version, changed_at): a version number alone is not unique across databases.
_parsed: dict[tuple[int, datetime], policy.Policy] = {}


@dataclass(frozen=True)
class Active:
    version: int
    policy: policy.Policy
    changed_by: str | None = None
    changed_at: datetime | None = None
    source_yaml: str | None = None


async def active(*, session: AsyncSession) -> Active:
    row = (
        await session.execute(select(PolicyVersion).order_by(PolicyVersion.version.desc()).limit(1))
    ).scalar_one_or_none()
    if row is None:
        return Active(0, policy.default(), source_yaml=policy.DEFAULT_PATH.read_text(encoding="utf-8"))
    key = (row.version, row.changed_at)
    if key not in _parsed:
        _parsed.clear()
        _parsed[key] = policy.Policy.model_validate(row.document)
    return Active(row.version, _parsed[key], row.changed_by, row.changed_at, row.source_yaml)


async def current(*, session: AsyncSession) -> policy.Policy:
    return (await active(session=session)).policy


async def put_policy(
    *, session: AsyncSession, document: policy.Policy, source_yaml: str | None, principal: Principal, now: datetime
) -> Active:
    """Store ``document`` as the next version, announce it, and re-evaluate the people its changes affect (validation
    happened at parsing)."""
    from services.registry.service import policy_effects  # it evaluates, and evaluation reads the policy

    previous = await current(session=session)
    latest = (await session.execute(select(func.max(PolicyVersion.version)))).scalar_one() or 0
    version = latest + 1
    body = document.model_dump(mode="json")
    session.add(
        PolicyVersion(
            version=version,
            document=body,
            source_yaml=source_yaml,
            changed_by=principal.username or principal.subject,
            changed_at=now,
        )
    )
    audit.record(session=session, principal=principal, action="set", entity="policy", entity_id=version)
    await outbox.add(
        session,
        PolicyChanged(policy_version=version, document=body, changed_by=principal.username or principal.subject),
        key=version,
    )
    await policy_effects.reevaluate(session=session, old=previous, new=document, now=now)
    await session.commit()
    return Active(version, document, principal.username or principal.subject, now, source_yaml)


async def history(*, session: AsyncSession, limit: int, cursor: str | None) -> paging.Page[PolicyVersion]:
    """Newest version first."""
    query = select(PolicyVersion)
    return await paging.keyset(session, query, order=(PolicyVersion.version,), limit=limit, cursor=cursor, descending=True)
