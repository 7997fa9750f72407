"""Domain bounds of dates, times and counts, checked once where a request enters (schemas, query parameters).

Anything that happens in Cordon happens between 2019-01-01 and ten years from today;
travel that counts lies within the policy's horizon of today; a count is below ten
million. What passes these bounds can be added to, converted to UTC or China time and
stored without overflowing, so the rules behind them are total.

``Day``, ``Moment`` (a time with offset), ``AnyMoment`` (offset optional: query
parameters) and ``Count`` are the types schemas use; ``check_day``/``check_moment``
are the same checks for values parsed by hand (batch lines, query strings), raising
``OutOfBounds`` (a ``ValueError``) with a message for the field, Chinese first.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field
from pydantic_core import PydanticCustomError

from cordon.clock import CHINA

EARLIEST = date(2019, 1, 1)
YEARS_AHEAD = 10
MAX_COUNT = 10_000_000  # counts are >= 0 and below this


class OutOfBounds(ValueError):
    """A value outside its domain; ``code`` is stable, the message names the bounds (zh, then en)."""

    def __init__(self, message: str, code: str = "date_out_of_range") -> None:
        super().__init__(message)
        self.code = code


def latest(today: date | None = None) -> date:
    """Ten years from today (28 February for a 29 February)."""
    today = today or datetime.now(UTC).date()
    try:
        return today.replace(year=today.year + YEARS_AHEAD)
    except ValueError:
        return today.replace(year=today.year + YEARS_AHEAD, day=28)


def check_day(value: date, *, low: date | None = None, high: date | None = None) -> date:
    """``value`` if it lies in [low, high] (by default 2019-01-01 to ten years from today)."""
    low, high = low or EARLIEST, high or latest()
    if not low <= value <= high:
        raise OutOfBounds(f"日期须在 {low} 至 {high} 之间（a date from {low} to {high}）")
    return value


def check_moment(value: datetime) -> datetime:
    """A time whose day (as written, and in UTC) lies in the bounds of ``check_day``.

    The day as written is checked first, so a time near year 1 or 9999 is refused before
    anything converts it (``0001-01-01T00:00:00+14:00`` has no UTC time at all).
    """
    low, high = EARLIEST, latest()
    if not low <= value.date() <= high or (value.tzinfo is not None and not low <= value.astimezone(UTC).date() <= high):
        raise OutOfBounds(f"时间须在 {low} 至 {high} 之间（a time from {low} to {high}）")
    return value


def _adapt(check):
    """A pydantic validator from a check: its error is the field's message, without pydantic's prefix."""

    def validate(value):
        try:
            return check(value)
        except OutOfBounds as exc:
            raise PydanticCustomError(exc.code, str(exc)) from None

    return validate


def _in_china_if_naive(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=CHINA)


def _not_null(value):
    if value is None:
        raise PydanticCustomError("null_not_allowed", "此项不可为空（this field cannot be null）")
    return value


Day = Annotated[date, AfterValidator(_adapt(check_day))]
Moment = Annotated[AwareDatetime, AfterValidator(_adapt(check_moment))]
# A query's time without an offset is China Standard Time, as every date of the API is.
AnyMoment = Annotated[datetime, AfterValidator(_adapt(check_moment)), AfterValidator(_in_china_if_naive)]
Count = Annotated[int, Field(ge=0, lt=MAX_COUNT)]
# A PATCH field that may be left out but not set to null: default None means "not given".
NotNull = AfterValidator(_not_null)

__all__ = [
    "AnyMoment", "Count", "Day", "EARLIEST", "MAX_COUNT", "Moment", "NotNull", "OutOfBounds",
    "check_day", "check_moment", "latest",
]
