"""The outcome rule: what a result does to a person's test state."""

from datetime import UTC, datetime, timedelta

from services.registry.domain.results import ResultState, after_result
from services.registry.domain.risk import touches_risk

AT = datetime(2022, 3, 1, 8, tzinfo=UTC)
DUE = AT + timedelta(hours=24)


def rule(state, outcome, *, at=AT, correction=False):
    return after_result(state, outcome=outcome, collected_at=at, retest_due_by=DUE, correction=correction)


def test_positive_marks_and_settles_a_pending_retest():
    assert rule(ResultState(pool_positive_due_by=DUE), "positive") == ResultState(positive_at=AT)


def test_pooled_positive_asks_a_retest_unless_already_positive():
    assert rule(ResultState(), "pool_positive") == ResultState(pool_positive_due_by=DUE)
    assert rule(ResultState(positive_at=AT), "pool_positive") == ResultState(positive_at=AT)


def test_negative_settles_the_retest_and_a_correction_takes_back_its_positive():
    assert rule(ResultState(pool_positive_due_by=DUE), "negative") == ResultState()
    assert rule(ResultState(positive_at=AT), "negative") == ResultState(positive_at=AT)  # a later negative is no correction
    assert rule(ResultState(positive_at=AT), "negative", correction=True) == ResultState()
    other = AT - timedelta(days=1)
    assert rule(ResultState(positive_at=other), "negative", correction=True) == ResultState(positive_at=other)


def test_invalid_changes_nothing():
    state = ResultState(positive_at=AT, pool_positive_due_by=DUE)
    assert rule(state, "invalid") == state


def test_touches_risk_inside_or_holding_an_area():
    risk = {"320413": "high"}
    assert touches_risk("320413", risk) and touches_risk("320413001", risk) and touches_risk("320400", risk)
    assert not touches_risk("110105", risk)
