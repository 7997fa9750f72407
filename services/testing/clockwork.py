"""The daily run of scheduled tests: at start, then at the start of each China-time day."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from fastapi import FastAPI

from cordon import clockwork
from cordon.clock import CHINA, utcnow
from services.testing.service import retests, schedules

log = logging.getLogger("cordon.testing.clockwork")

# A little past midnight, so a replica whose clock lags slightly still sees the new day.
AFTER_MIDNIGHT = timedelta(seconds=5)
RETRY_S = 60


def seconds_to_next_day(now: datetime) -> float:
    local = now.astimezone(CHINA)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), CHINA)
    return (midnight + AFTER_MIDNIGHT - local).total_seconds()


async def announce(app: FastAPI) -> None:
    async with app.state.sessionmaker() as session:
        counts = await schedules.announce(session=session, now=app.state.clock())
    log.info("scheduled tests announced", extra={"due": counts["due"], "overdue": counts["overdue"]})


# How often pool-positive retest deadlines are looked at (a deadline is told within this of passing).
RETEST_CHECK_S = 300


async def escalate_retests(app: FastAPI) -> None:
    async with app.state.sessionmaker() as session:
        told = await retests.escalate(session=session, now=app.state.clock())
    if told:
        log.info("pool-positive retests overdue", extra={"told": told})


async def run_retests(app: FastAPI) -> None:
    await clockwork.every("pool-positive retests", lambda: escalate_retests(app), pause=RETEST_CHECK_S, retry_s=RETRY_S)


async def run_daily(app: FastAPI) -> None:
    # The database away: try again soon; the announcement marks keep each one once.
    await clockwork.every("scheduled tests", lambda: announce(app), pause=lambda: seconds_to_next_day(utcnow()), retry_s=RETRY_S)
