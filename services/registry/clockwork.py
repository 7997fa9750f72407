"""The registry's clockwork: measures start and complete with the days, risk areas take effect when due."""

from __future__ import annotations

from fastapi import FastAPI

from cordon import clockwork
from services.registry.service import follow_up_duties, measures, policies, reports, risk_areas


async def tick(app: FastAPI) -> None:
    now = app.state.clock()
    async with app.state.sessionmaker() as session:
        while await measures.advance(session=session, now=now):
            pass
    async with app.state.sessionmaker() as session:
        for area in await risk_areas.due_areas(session, now):
            await risk_areas.reevaluate_area(session, area, now)
        await session.commit()
    await accountability_tick(app, now)


async def accountability_tick(app: FastAPI, now) -> None:
    """Open today's follow-up slots, mark the missed, escalate the still missing; remind and list reports."""
    async with app.state.sessionmaker() as session:
        policy = await policies.current(session)
        await follow_up_duties.open_today(session, now=now, policy=policy)
        await session.commit()
        while await follow_up_duties.mark_missed(session, now=now):
            await session.commit()
        await session.commit()
        while await follow_up_duties.escalate(session, now=now, policy=policy):
            await session.commit()
        await session.commit()
        await reports.notices(session, now=now, policy=policy)
        await session.commit()


async def run(app: FastAPI) -> None:
    interval = app.state.settings.ticker_interval_s
    if interval:
        await clockwork.every("registry tick", lambda: tick(app), pause=interval)
