"""The registry's clockwork: measures start and complete with the days, risk areas take effect when due,
what a crash left pending (travel records not yet evaluated, results whose person came later) is settled,
and big-data leads past their due time are told overdue once."""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI

from cordon import clockwork
from services.registry.models import RiskArea
from services.registry.service import follow_up_duties, leads, measures, policies, reactions, reports, risk_areas, travel

log = logging.getLogger("cordon.registry.clockwork")


async def tick(app: FastAPI) -> None:
    """One round: each step on its own, so one that fails (one bad row) never stops the others."""
    now = app.state.clock()
    for step in (advance_measures, due_risk_areas, pending_facts, accountability_tick, overdue_leads):
        try:
            await step(app, now)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("registry clockwork: a step failed this round; the other steps went on", extra={"step": step.__name__})


async def advance_measures(app: FastAPI, now) -> None:
    async with app.state.sessionmaker() as session:
        while await measures.advance(session=session, now=now):
            pass
    async with app.state.sessionmaker() as session:
        await measures.settle_blocked(session=session, now=now)


async def due_risk_areas(app: FastAPI, now) -> None:
    """Each area whose moment has come, in its own transaction: one that fails is logged and tried next round."""
    async with app.state.sessionmaker() as session:
        due = [area.region_code for area in await risk_areas.due_areas(session=session, now=now)]
    for region_code in due:
        try:
            async with app.state.sessionmaker() as session:
                area = await session.get(RiskArea, region_code)
                if area is not None:
                    await risk_areas.reevaluate_area(session=session, area=area, now=now)
                await session.commit()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("registry clockwork: a risk area could not be evaluated; tried again next round", extra={"region_code": region_code})


async def pending_facts(app: FastAPI, now) -> None:
    """Travel records a crash left unevaluated; results kept for a person who is registered by now."""
    await travel.evaluate_pending(sessionmaker=app.state.sessionmaker, now=now)
    await reactions.apply_waiting_results(sessionmaker=app.state.sessionmaker, now=now)


async def accountability_tick(app: FastAPI, now) -> None:
    """Open today's follow-up slots, mark the missed, escalate the still missing; remind and list reports."""
    async with app.state.sessionmaker() as session:
        policy = await policies.current(session=session)
        await follow_up_duties.open_today(session=session, now=now, policy=policy)
        await session.commit()
        while await follow_up_duties.mark_missed(session=session, now=now):
            await session.commit()
        await session.commit()
        while await follow_up_duties.escalate(session=session, now=now, policy=policy):
            await session.commit()
        await session.commit()
        await reports.notices(session=session, now=now, policy=policy)
        await session.commit()


async def overdue_leads(app: FastAPI, now) -> None:
    """Open leads past their due time, each told once (registry.lead.overdue), a batch a transaction."""
    async with app.state.sessionmaker() as session:
        while await leads.mark_overdue(session=session, now=now) == leads.OVERDUE_BATCH:
            await session.commit()
        await session.commit()


async def run(app: FastAPI) -> None:
    interval = app.state.settings.ticker_interval_s
    if interval:
        await clockwork.every("registry tick", lambda: tick(app), pause=interval)
