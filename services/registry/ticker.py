"""The registry's clockwork: measures start and complete with the days, risk areas take effect when due."""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI

from services.registry.service import measures, risk_areas

log = logging.getLogger("cordon.registry.ticker")

INTERVAL_S = 30.0


async def tick(app: FastAPI) -> None:
    now = app.state.clock()
    async with app.state.sessionmaker() as session:
        while await measures.advance(session=session, now=now):
            pass
    async with app.state.sessionmaker() as session:
        for area in await risk_areas.due_areas(session, now):
            await risk_areas.reevaluate_area(session, area, now)
        await session.commit()


async def run(app: FastAPI) -> None:
    while True:
        try:
            await tick(app)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("registry ticker failed; trying again next round")
        await asyncio.sleep(INTERVAL_S)
