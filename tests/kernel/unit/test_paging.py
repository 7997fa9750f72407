"""The one cursor codec: what it gives out comes back typed; anything else is 400 invalid_cursor."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cordon import paging


@given(
    st.datetimes(timezones=st.just(UTC)), st.dates(), st.uuids(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.text(max_size=40),
)
def test_what_is_encoded_decodes_to_the_same_values(at, day, ident, number, text):
    cursor = paging.encode(at, day, ident, number, text)
    assert paging.decode(cursor, datetime, date, uuid.UUID, int, str) == (at, day, ident, number, text)


def _raw(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("cursor", "kinds"),
    [
        ("99999999999999999999", (int,)),
        ("garbage", (int,)),
        ("!!!", (uuid.UUID,)),
        ("", (int,)),
        ("é", (int,)),
        (_raw("[99999999999999999999]"), (int,)),  # beyond a 64-bit column: the database would fail
        (_raw("[1.5]"), (int,)),
        (_raw("[true]"), (int,)),
        (_raw('["1"]'), (int,)),
        (_raw("[1, 2]"), (int,)),
        (_raw("{}"), (int,)),
        (_raw('["2026-01-01T00:00:00"]'), (datetime,)),  # no offset
        (_raw('["not a uuid"]'), (uuid.UUID,)),
        (_raw('["2026-13-01"]'), (date,)),
        (_raw("[null]"), (str,)),
        (_raw("\xff"), (int,)),
        ("A" * 5000, (int,)),
    ],
)
def test_anything_else_is_invalid_cursor(cursor, kinds):
    with pytest.raises(paging.CursorInvalid) as caught:
        paging.decode(cursor, *kinds)
    assert (caught.value.status, caught.value.code) == (400, "invalid_cursor")
