"""The lead rules: which record makes a lead, where it goes, when it is due, how it closes."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from cordon.policy import default
from services.registry.domain import leads

POLICY = default()
TODAY = date(2022, 1, 20)
D = timedelta


def test_a_record_in_a_high_risk_area_names_its_rule_and_a_record_elsewhere_nothing():
    reasons = leads.travel_reasons("420106", TODAY - D(3), TODAY - D(2), {"420100": "high"}, POLICY, TODAY)
    assert [r.as_dict() for r in reasons] == [{"rule": "high_risk_travel", "detail": "420106 2022-01-17~2022-01-18"}]
    assert leads.travel_reasons("320413", TODAY - D(3), TODAY - D(2), {"420100": "high"}, POLICY, TODAY) == []
    assert leads.travel_reasons("420106", TODAY - D(3), TODAY - D(2), {}, POLICY, TODAY) == []


def test_a_record_whose_measures_are_all_past_makes_no_lead():
    # Left 30 days ago: the 14 + 7 days chain ended before today.
    assert leads.travel_reasons("420106", TODAY - D(31), TODAY - D(30), {"420106": "high"}, POLICY, TODAY) == []


def test_a_medium_risk_record_and_the_county_rule_each_name_their_rule():
    medium = leads.travel_reasons("420106", TODAY - D(2), TODAY - D(1), {"420106": "medium"}, POLICY, TODAY)
    assert [r.rule for r in medium] == ["medium_risk_travel"]
    county = leads.travel_reasons("420106002", TODAY - D(2), TODAY - D(1), {"420106001": "high"}, POLICY, TODAY)
    assert [r.rule for r in county] == ["local_case_county_travel"]


def test_the_lead_goes_where_the_person_is_now_else_to_the_partners_place_else_to_nobody():
    assert leads.place_for("320413100201", ("320413",)) == "320413100201"
    assert leads.place_for(None, ("320413100201",)) == "320413100201"
    assert leads.place_for(None, ("320413100201", "320413100202")) == "320413100"
    assert leads.place_for(None, ("320413", "320412")) == "320400"
    assert leads.place_for(None, ("320413", "110101")) is None
    assert leads.place_for(None, ()) is None


def test_due_from_the_policy_and_overdue_only_while_open():
    opened = datetime(2022, 1, 20, 2, 0, tzinfo=UTC)
    due = leads.due_at(opened, POLICY)
    assert due == opened + D(hours=24)
    shorter = POLICY.model_copy(update={"leads": POLICY.leads.model_copy(update={"due_hours": 6})})
    assert leads.due_at(opened, shorter) == opened + D(hours=6)
    assert leads.is_overdue("open", due, due) and not leads.is_overdue("open", due, due - D(seconds=1))
    assert not leads.is_overdue("closed", due, due + D(days=3))


def test_reasons_merge_each_once_in_arrival_order_and_bounded():
    a, b, c = ({"rule": "high_risk_travel", "detail": f"420106 {n}"} for n in "abc")
    assert leads.merge_reasons([a, b], [b, c, a]) == [a, b, c]
    many = [{"rule": "r", "detail": str(n)} for n in range(leads.MAX_REASONS + 10)]
    assert len(leads.merge_reasons([], many)) == leads.MAX_REASONS


def test_one_key_per_person_the_id_number_first():
    assert leads.match_key("i", "p") == "id:i"
    assert leads.match_key(None, "p") == "phone:p"
    with pytest.raises(ValueError):
        leads.match_key(None, None)


@pytest.mark.parametrize(
    ("status", "outcome", "person", "code"),
    [
        ("closed", "not_found", None, "lead_closed"),
        ("open", "vanished", None, "outcome_unknown"),
        ("open", "registered", None, "person_id_required"),
    ],
)
def test_outcomes_refused_with_their_code(status, outcome, person, code):
    with pytest.raises(leads.OutcomeRefused) as refused:
        leads.check_outcome(status, outcome, person)
    assert refused.value.code == code


def test_outcomes_accepted():
    leads.check_outcome("open", "registered", uuid.uuid4())
    for outcome in ("unreachable", "left_area", "not_found", "already_handled"):
        leads.check_outcome("open", outcome, None)


def test_who_may_hold_a_lead():
    assert leads.may_hold("grid_worker", ["320413100201"], "320413100201")
    assert leads.may_hold("official", ["320413"], "320413100201")
    assert not leads.may_hold("grid_worker", ["320413100202"], "320413100201")
    assert not leads.may_hold("grid_worker", ["320413100201"], "320413100201", active=False)
    assert not leads.may_hold("lab", ["320413"], "320413100201")
    assert not leads.may_hold("official", ["320413"], None)
