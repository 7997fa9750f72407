"""The domain's bounds on times: what a query may say, and how a time without an offset is read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import TypeAdapter, ValidationError

from cordon.bounds import AnyMoment, Moment

ANY = TypeAdapter(AnyMoment)


def test_a_query_time_without_offset_is_china_standard_time():
    moment = ANY.validate_python("2026-03-01T08:00:00")
    assert moment.utcoffset() == timedelta(hours=8)
    assert moment == datetime(2026, 3, 1, 0, 0, tzinfo=UTC)


def test_a_query_time_with_offset_keeps_it():
    assert ANY.validate_python("2026-03-01T08:00:00+00:00").utcoffset() == timedelta(0)


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_times_at_the_calendar_ends_are_refused_not_converted(text):
    with pytest.raises(ValidationError):
        ANY.validate_python(text)
    with pytest.raises(ValidationError):
        TypeAdapter(Moment).validate_python(text)
