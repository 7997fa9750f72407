"""Periodic work: the one loop every service's ``clockwork.py`` runs its rounds in.

A round is a coroutine doing one bounded piece of work; it answers True when there is
more waiting right away (run again at once), anything else to rest for ``pause``
seconds (a number, or a function of nothing that gives it: "until the next day").
A failing round is logged and tried again after ``retry_s``; cancellation stops
the loop. Rounds are safe with several replicas running the same clockwork: each
claims its rows with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (``cordon.db.skip_locked``)
or keeps a mark of what was done, so two replicas share the work and never double it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("cordon.clockwork")

Round = Callable[[], Awaitable[object]]


async def every(
    name: str, round_: Round, *, pause: float | Callable[[], float], retry_s: float | None = None
) -> None:
    """Run ``round_`` until cancelled (see the module's docstring)."""
    while True:
        try:
            more = await round_() is True
            delay = 0.0 if more else (pause() if callable(pause) else pause)
        except asyncio.CancelledError:
            raise
        except Exception:  # the database or a provider away: the next round tries again
            log.exception("periodic round failed; trying again", extra={"task": name})
            delay = retry_s if retry_s is not None else (pause() if callable(pause) else pause)
        await asyncio.sleep(delay)
