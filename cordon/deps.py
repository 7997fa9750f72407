"""The request-scoped dependencies every router takes, as ``Annotated`` aliases.

Kept apart from the modules they serve (db, clock, pii), so that those stay free of the web
framework and domain rules may use them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from cordon.pii import Vault


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessionmaker() as session:
        yield session


def _now(request: Request) -> datetime:
    return request.app.state.clock()


def _vault(request: Request) -> Vault:
    return request.app.state.vault


SessionDep = Annotated[AsyncSession, Depends(_session)]
# The request's "now", from the app's clock (which tests may replace).
NowDep = Annotated[datetime, Depends(_now)]
VaultDep = Annotated[Vault, Depends(_vault)]
