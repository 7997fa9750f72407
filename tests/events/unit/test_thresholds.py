"""The gathering thresholds at every boundary, from the default policy and from an edited one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cordon.policy import GATHERING_KINDS, default
from services.events.domain import thresholds
from services.events.domain.thresholds import GatheringEnded, GatheringInvalid, GatheringProhibited, PlanRequired

RULES = default().gatherings
PLANS = {"prevention_plan", "emergency_plan"}


def assess(kind="meeting", n=20, tables=None, plans=PLANS, rules=RULES):
    return thresholds.assess(kind, n, tables, set(plans), rules)


def test_defaults_are_the_documented_ones():
    assert (RULES.prohibited_from, RULES.approval_from, RULES.filing_tables_from, RULES.family_warning_over) == (300, 50, 5, 10)


@pytest.mark.parametrize("n, outcome", [(298, "approval"), (299, "approval"), (300, "prohibited"), (301, "prohibited")])
def test_300_or_more_is_prohibited(n, outcome):
    if outcome == "prohibited":
        with pytest.raises(GatheringProhibited) as raised:
            assess(n=n)
        assert raised.value.extra["rule"] == "prohibited_from" and "300" in raised.value.detail
    else:
        assert assess(n=n).requirement == "approval"


@pytest.mark.parametrize("kind", ["performance", "sports", "fair"])
@pytest.mark.parametrize("n", [1, 10, 49])
def test_suspended_kinds_are_prohibited_at_any_size(kind, n):
    with pytest.raises(GatheringProhibited) as raised:
        assess(kind=kind, n=n)
    assert raised.value.extra["rule"] == "suspended_kinds" and kind in raised.value.detail


def test_a_kind_no_longer_suspended_is_assessed_by_size():
    rules = RULES.model_copy(update={"suspended_kinds": []})
    assert assess(kind="sports", n=20, rules=rules).requirement == "none"


@pytest.mark.parametrize("n, requirement, status", [(48, "none", "recorded"), (49, "none", "recorded"), (50, "approval", "pending_approval"), (51, "approval", "pending_approval")])
def test_50_or_more_need_approval(n, requirement, status):
    result = assess(n=n)
    assert (result.requirement, result.status) == (requirement, status)


@pytest.mark.parametrize("plans, missing", [
    (set(), ["prevention_plan", "emergency_plan"]),
    ({"emergency_plan"}, ["prevention_plan"]),
    ({"prevention_plan"}, ["emergency_plan"]),
])
def test_50_or_more_without_plans_names_the_missing_ones(plans, missing):
    with pytest.raises(PlanRequired) as raised:
        assess(n=50, plans=plans)
    assert raised.value.code == "prevention_plan_required"
    assert raised.value.extra["missing"] == missing
    assert [e["field"] for e in raised.value.errors] == missing


def test_49_needs_no_plans():
    assert assess(n=49, plans=set()).requirement == "none"


@pytest.mark.parametrize("tables, requirement", [(3, "none"), (4, "none"), (5, "filing"), (6, "filing")])
def test_banquets_of_5_or_more_tables_are_filed(tables, requirement):
    result = assess(kind="banquet", n=40, tables=tables, plans=set())
    assert result.requirement == requirement
    assert result.status == {"none": "recorded", "filing": "filed"}[requirement]


@pytest.mark.parametrize("kind", ["wedding", "funeral"])
@pytest.mark.parametrize("n", [2, 10, 49])
def test_weddings_and_funerals_are_filed(kind, n):
    assert (assess(kind=kind, n=n, plans=set()).requirement, assess(kind=kind, n=n).status) == ("filing", "filed")


@pytest.mark.parametrize("kind, tables", [("wedding", None), ("funeral", None), ("banquet", 6)])
def test_approval_wins_over_filing(kind, tables):
    result = assess(kind=kind, n=80, tables=tables)
    assert (result.requirement, result.status) == ("approval", "pending_approval")


@pytest.mark.parametrize("n, warned", [(9, False), (10, False), (11, True), (12, True)])
def test_family_gathering_over_10_is_recorded_with_a_warning(n, warned):
    result = assess(kind="family", n=n, plans=set())
    assert (result.requirement, result.status) == ("none", "recorded")
    assert [w.code for w in result.warnings] == (["family_gathering_large"] if warned else [])


def test_a_large_family_gathering_needs_approval_and_keeps_its_warning():
    result = assess(kind="family", n=60)
    assert result.requirement == "approval" and [w.code for w in result.warnings] == ["family_gathering_large"]


@pytest.mark.parametrize("kind", ["meeting", "training", "other"])
def test_only_family_gatherings_are_warned(kind):
    assert assess(kind=kind, n=30, plans=set()).warnings == []


def test_thresholds_follow_an_edited_policy():
    rules = RULES.model_copy(update={"prohibited_from": 100, "approval_from": 30, "filing_tables_from": 3, "family_warning_over": 5})
    with pytest.raises(GatheringProhibited):
        assess(n=100, rules=rules)
    assert assess(n=30, rules=rules).requirement == "approval"
    assert assess(kind="banquet", n=20, tables=3, rules=rules).requirement == "filing"
    assert assess(kind="family", n=6, rules=rules).warnings


@given(kind=st.sampled_from(GATHERING_KINDS), n=st.integers(1, 1000), tables=st.integers(1, 60))
def test_every_gathering_is_prohibited_or_gets_a_consistent_requirement(kind, n, tables):
    try:
        result = assess(kind=kind, n=n, tables=tables if kind == "banquet" else None)
    except GatheringProhibited:
        assert n >= RULES.prohibited_from or kind in RULES.suspended_kinds
        return
    assert {"none": "recorded", "filing": "filed", "approval": "pending_approval"}[result.requirement] == result.status
    assert (result.requirement == "approval") == (n >= RULES.approval_from)


# Shape and times.

@pytest.mark.parametrize("kind, n, tables, field", [
    ("meeting", 0, None, "expected_attendees"),
    ("meeting", -3, None, "expected_attendees"),
    ("banquet", 40, 0, "tables"),
    ("meeting", 40, 3, "tables"),
    ("family", 8, 1, "tables"),
    ("banquet", 40, None, "tables"),
])
def test_bad_shapes_are_refused(kind, n, tables, field):
    with pytest.raises(GatheringInvalid) as raised:
        thresholds.check_shape(kind, n, tables)
    assert field in [e["field"] for e in raised.value.errors]


def test_good_shapes_pass():
    thresholds.check_shape("banquet", 1, 1)
    thresholds.check_shape("meeting", 1, None)


NOW = datetime(2022, 1, 10, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize("ends_after_start", [timedelta(0), timedelta(seconds=-1), timedelta(hours=-2)])
def test_ends_must_follow_starts(ends_after_start):
    starts = NOW + timedelta(hours=1)  # in the future: only the order of the two times is wrong
    with pytest.raises(GatheringInvalid) as raised:
        thresholds.check_times(starts, starts + ends_after_start, NOW)
    assert [e["field"] for e in raised.value.errors] == ["ends_at"]


def test_a_second_after_the_start_is_an_end():
    starts = NOW + timedelta(hours=1)
    assert thresholds.check_times(starts, starts + timedelta(seconds=1), NOW) == []


@pytest.mark.parametrize("ends_in", [timedelta(0), timedelta(seconds=-1), timedelta(days=-3)])
def test_an_ended_gathering_cannot_be_filed(ends_in):
    with pytest.raises(GatheringEnded):
        thresholds.check_times(NOW - timedelta(days=5), NOW + ends_in, NOW)


def test_one_under_way_is_filed_with_a_warning_one_ahead_without():
    assert [w.code for w in thresholds.check_times(NOW - timedelta(hours=1), NOW + timedelta(seconds=1), NOW)] == ["already_started"]
    assert thresholds.check_times(NOW + timedelta(seconds=1), NOW + timedelta(hours=3), NOW) == []
