from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.testing.domain import outcomes

T = datetime(2022, 3, 1, 10, 0, tzinfo=UTC)


@given(st.integers(min_value=2, max_value=50))
def test_positive_tube_of_several_makes_each_member_pool_positive(members):
    assert outcomes.member_outcome("positive", members) == "pool_positive"


def test_positive_single_tube_is_positive():
    assert outcomes.member_outcome("positive", 1) == "positive"


@pytest.mark.parametrize("result", ["negative", "invalid"])
@given(members=st.integers(min_value=1, max_value=50))
def test_negative_and_invalid_reach_every_member_as_is(result, members):
    assert outcomes.member_outcome(result, members) == result


def test_a_result_covers_at_least_one_sample():
    with pytest.raises(ValueError):
        outcomes.member_outcome("negative", 0)


def test_retest_deadline_only_for_pool_positive():
    assert outcomes.retest_due_by("pool_positive", T, 12) == T + timedelta(hours=12)
    for outcome in ("negative", "positive", "invalid"):
        assert outcomes.retest_due_by(outcome, T, 12) is None


@pytest.mark.parametrize(
    "result, previous, correction, verdict",
    [
        ("negative", None, False, "new"),
        ("negative", None, True, "new"),
        ("negative", "negative", False, "duplicate"),
        ("negative", "negative", True, "duplicate"),
        ("positive", "negative", False, "conflict"),
        ("positive", "negative", True, "correction"),
        ("invalid", "positive", True, "correction"),
    ],
)
def test_judging_a_result_against_the_one_recorded(result, previous, correction, verdict):
    assert outcomes.judge(result, previous=previous, correction=correction) == verdict
