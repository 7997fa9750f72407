"""Calendar days are China Standard Time days (docs/api.md: dates in China Standard Time)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def local_date(moment: datetime) -> date:
    return moment.astimezone(CHINA).date()


# The clock of the app handling the current event: a consumer sets it around each handler, so a
# handler's "now" is the app's replaceable clock (tests put their own in app.state.clock).
_current: ContextVar[Clock] = ContextVar("cordon_clock", default=utcnow)


def now() -> datetime:
    """The current app's clock, read (the real time outside any app)."""
    return _current.get()()


@contextmanager
def using(clock: Clock) -> Iterator[None]:
    token = _current.set(clock)
    try:
        yield
    finally:
        _current.reset(token)
