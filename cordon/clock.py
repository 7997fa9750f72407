"""Calendar days are China Standard Time days (docs/api.md: dates in China Standard Time)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Request

CHINA = ZoneInfo("Asia/Shanghai")


def local_date(moment: datetime) -> date:
    return moment.astimezone(CHINA).date()


def _now(request: Request) -> datetime:
    return request.app.state.clock()


# The request's "now", from the app's clock (which tests may replace).
NowDep = Annotated[datetime, Depends(_now)]
