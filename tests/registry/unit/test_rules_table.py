"""The control-measure table row by row (docs/domain.md), release tests, and what a policy change does to people
already under control; the properties hold for every rule the table names."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from cordon.clock import CHINA
from cordon.policy import Policy, default
from services.registry.domain import release
from services.registry.domain.engine import Assigned, Exposure, PersonFacts, Sample, Travel, plan_assignment, requirements

POLICY = default()
TODAY = date(2022, 1, 20)
D = timedelta


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=CHINA)


def chains(reqs):
    return [(r.rule, r.kind, r.starts_on, r.ends_on, r.test_days) for r in reqs]


def close_contact_family(rule: str, on: date):
    return [
        (rule, "centralized_quarantine", on, on + D(13), (on + D(13),)),
        (rule, "home_health_monitoring", on + D(14), on + D(20), (on + D(15), on + D(20), on + D(27))),
    ]


@pytest.mark.parametrize("rule", ["close_contact", "secondary_contact", "spacetime_companion", "gathering_exposure"])
def test_the_close_contact_family_is_14_plus_7_with_its_test_days(rule):
    on = TODAY - D(2)
    assert chains(requirements(PersonFacts(exposures=(Exposure(rule, "k", on),)), {}, POLICY, TODAY)) == close_contact_family(rule, on)


def test_the_rules_an_official_may_assign_by_hand():
    assert POLICY.assignable() == ["close_contact", "secondary_contact", "spacetime_companion", "released_contact_exposure"]
    doc = POLICY.model_dump()
    doc["rules"]["close_contact"].pop("assignable")  # a document older than the mark: manual rules stay assignable
    assert "close_contact" in Policy.model_validate(doc).assignable()
    doc["rules"]["secondary_contact"]["assignable"] = False
    assert "secondary_contact" not in Policy.model_validate(doc).assignable()


def test_a_discharged_case_serves_14_plus_7_from_the_discharge_date():
    out = TODAY - D(1)
    reqs = requirements(PersonFacts(dates={"discharged_on": out}), {}, POLICY, TODAY)
    assert chains(reqs) == close_contact_family("discharged_case", out)
    # Without the date fact, nothing; the date fact alone needs no tag.
    assert requirements(PersonFacts(tags=frozenset({"inbound"})), {}, POLICY, TODAY) == []


def test_released_contact_exposure_is_7_days_home_quarantine():
    on = TODAY - D(1)
    reqs = requirements(PersonFacts(exposures=(Exposure("released_contact_exposure", str(on), on),)), {}, POLICY, TODAY)
    assert chains(reqs) == [("released_contact_exposure", "home_quarantine", on, on + D(6), (on + D(1), on + D(6), on + D(13)))]


def test_risk_city_travel_for_another_county_of_the_city_has_its_plus_7_test():
    left = TODAY - D(4)
    reqs = requirements(PersonFacts(travel=(Travel("420111", left - D(1), left),)), {"420106001002": "high"}, POLICY, TODAY)
    # Day 2 has passed: a test today instead (a person found late).
    assert chains(reqs) == [("risk_city_travel", "home_health_monitoring", left, left + D(6), (left + D(1), TODAY, left + D(6), left + D(13)))]


def test_local_case_county_travel_is_as_high_risk_travel():
    left = TODAY - D(4)
    reqs = requirements(PersonFacts(travel=(Travel("420106", left - D(1), left),)), {"420106": "local"}, POLICY, TODAY)
    assert [c[1:] for c in chains(reqs)] == [c[1:] for c in close_contact_family("x", left)]


def test_local_case_province_travel_3_days_with_2_tests_unless_the_journey_was_tested():
    left = TODAY - D(1)
    trip = (Travel("420502", left - D(2), left),)  # 宜昌, another city of 湖北; 武汉 has a risk area
    risk = {"420106001002": "medium"}
    reqs = requirements(PersonFacts(travel=trip), risk, POLICY, TODAY)
    assert chains(reqs) == [("local_case_province_travel", "home_health_monitoring", left, left + D(2), (left, TODAY, left + D(2)))]
    assert release.needs(POLICY, "local_case_province_travel", "home_health_monitoring").negatives == 2
    proof = Sample(at(left - D(1), 9), "negative")  # 39 hours before the end of the day of leaving
    arrival = Sample(at(left + D(1), 10), "pending")  # within 24 hours of arriving
    assert requirements(PersonFacts(travel=trip, samples=(proof, arrival)), risk, POLICY, TODAY) == []
    assert requirements(PersonFacts(travel=trip, samples=(proof,)), risk, POLICY, TODAY) != []  # no arrival test
    assert requirements(PersonFacts(travel=trip, samples=(arrival,)), risk, POLICY, TODAY) != []  # no proof
    stale = Sample(at(left - D(2), 9), "negative")  # 63 hours before
    assert requirements(PersonFacts(travel=trip, samples=(stale, arrival)), risk, POLICY, TODAY) != []
    late = Sample(at(left + D(2), 10), "negative")  # 34 hours after the day of leaving ended
    assert requirements(PersonFacts(travel=trip, samples=(proof, late)), risk, POLICY, TODAY) != []
    # A province that reported local cases itself; the risk city itself is the city rule's, not this one's.
    assert {r.rule for r in requirements(PersonFacts(travel=trip), {"420000": "local"}, POLICY, TODAY)} == {"local_case_province_travel"}
    assert {r.rule for r in requirements(PersonFacts(travel=(Travel("420111", left, left),)), risk, POLICY, TODAY)} == {"risk_city_travel"}
    assert requirements(PersonFacts(travel=(Travel("320413", left, left),)), risk, POLICY, TODAY) == []


def test_release_waits_for_its_negative_in_the_last_days():
    tests = release.needs(POLICY, "close_contact", "centralized_quarantine")
    end = TODAY - D(1)
    assert release.outcome(tests, end, end, ()) == "open"
    assert release.outcome(tests, end, TODAY, ()) == "blocked"
    assert release.outcome(tests, end, TODAY, (Sample(at(end - D(2), 9), "negative"),)) == "blocked"  # too early
    assert release.outcome(tests, end, TODAY, (Sample(at(end, 9), "pending"),)) == "blocked"
    assert release.outcome(tests, end, TODAY, (Sample(at(end - D(1), 9), "negative"),)) == "complete"
    assert release.outcome(tests, end, TODAY, (Sample(at(TODAY, 9), "negative"),)) == "complete"
    assert release.outcome(None, end, TODAY, ()) == "complete"  # monitoring needs none by default
    two = release.needs(POLICY, "local_case_province_travel", "home_health_monitoring")
    one = (Sample(at(end, 9), "negative"),)
    assert release.outcome(two, end, TODAY, one) == "blocked"
    assert release.outcome(two, end, TODAY, one + (Sample(at(end - D(2), 9), "negative"),)) == "complete"


def apply(changes, assigned):
    by_id = {a.id: a for a in assigned}
    for c in changes:
        if c.changed:
            mid = c.measure_id or uuid.uuid4()
            by_id[mid] = Assigned(mid, c.kind, c.rule, c.starts_on, c.ends_on, "active", c.test_days)
    return list(by_id.values())


def longer(policy: Policy, rule: str, days: int) -> Policy:
    doc = policy.model_dump()
    doc["rules"][rule]["measures"][0]["days"] = days
    return Policy.model_validate(doc)


def test_a_policy_change_lengthens_the_open_measures_of_those_already_under_control():
    on = TODAY - D(2)
    facts = PersonFacts(exposures=(Exposure("close_contact", "k", on),))
    first = requirements(facts, {}, POLICY, TODAY)
    changes = plan_assignment(first, [], set(), TODAY)
    assigned = apply(changes, [])
    served = {(t, c.kind) for c in changes for t in c.triggers}
    served_by = {(t, c.kind): a.id for c, a in zip(changes, assigned) for t in c.triggers}
    # Same policy: nothing moves.
    assert not any(c.changed for c in plan_assignment(first, assigned, served, TODAY, served_by))
    # Quarantine now 21 days: the open quarantine is extended; its trigger is not recorded again.
    again = plan_assignment(requirements(facts, {}, longer(POLICY, "close_contact", 21), TODAY), assigned, served, TODAY, served_by)
    quarantine = [c for c in again if c.kind == "centralized_quarantine"]
    assert len(quarantine) == 1 and quarantine[0].measure_id is not None and quarantine[0].ends_on == on + D(20)
    assert quarantine[0].changed and quarantine[0].triggers == ()
    # Without knowing which measure serves it (a released one), a served trigger is never assigned again.
    assert not [c for c in plan_assignment(requirements(facts, {}, longer(POLICY, "close_contact", 21), TODAY), assigned, served, TODAY)
                if c.changed and c.kind == "centralized_quarantine"]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d["rules"]["discharged_case"]["trigger"].update(date="birthday"),
        lambda d: d["rules"]["discharged_case"]["trigger"].pop("date"),
        lambda d: d["rules"]["local_case_province_travel"]["trigger"].pop("levels"),
        lambda d: d["rules"]["close_contact"].update(exempt={"proof_before_hours": 48, "arrival_test_hours": 24}),
        lambda d: d["rules"]["close_contact"]["measures"][0].update(release={"negatives": 0}),
        lambda d: d["rules"]["local_case_province_travel"]["measures"][0].update(release={"negatives": 2, "within_days": 4}),
    ],
)
def test_invalid_rules_are_refused(mutate):
    doc = POLICY.model_dump()
    mutate(doc)
    with pytest.raises(ValidationError):
        Policy.model_validate(doc)


# --- properties over every rule of the table ------------------------------------------------

RULES = list(POLICY.rules)
region = st.sampled_from(["420106", "420106001002", "420111", "420100", "420502", "420000", "110101", "320413"])
risk_st = st.dictionaries(st.sampled_from(["420106001002", "420106", "420000", "110101"]),
                          st.sampled_from(["high", "medium", "local"]), max_size=3)


@st.composite
def facts_st(draw):
    travel = tuple(Travel(draw(region), TODAY - D(n + 1), TODAY - D(n)) for n in draw(st.lists(st.integers(0, 20), max_size=3)))
    exposures = tuple(Exposure(draw(st.sampled_from(RULES)), str(n), TODAY - D(draw(st.integers(0, 25)))) for n in range(draw(st.integers(0, 3))))
    dates = {name: TODAY - D(draw(st.integers(0, 25))) for name in draw(st.sets(st.sampled_from(["entry_date", "discharged_on"])))}
    samples = tuple(Sample(at(TODAY - D(draw(st.integers(0, 20))), draw(st.integers(0, 23))), draw(st.sampled_from(["negative", "pending"])))
                    for _ in range(draw(st.integers(0, 3))))
    return PersonFacts(tags=frozenset(draw(st.sets(st.just("inbound")))), dates=dates, travel=travel, exposures=exposures, samples=samples)


@settings(max_examples=300, deadline=None)
@given(facts_st(), risk_st)
def test_every_rule_is_idempotent_and_ends_no_earlier_than_today(facts, risk):
    reqs = requirements(facts, risk, POLICY, TODAY)
    assert all(r.ends_on >= TODAY and r.rule in POLICY.rules for r in reqs)
    assert all(min(r.test_days, default=r.starts_on) >= r.starts_on for r in reqs)
    changes = plan_assignment(reqs, [], set(), TODAY)
    assigned = apply(changes, [])
    served = {(t, c.kind) for c in changes for t in c.triggers}
    served_by = {(t, c.kind): a.id for c, a in zip(changes, assigned) for t in c.triggers}
    assert not any(c.changed for c in plan_assignment(reqs, assigned, served, TODAY, served_by))


@settings(max_examples=200, deadline=None)
@given(facts_st(), risk_st, st.integers(1, 10))
def test_evaluating_again_on_a_later_day_changes_no_open_measure(facts, risk, later):
    """Nothing new on a later day: no measure moves, and no catch-up test of that day is added again."""
    changes = plan_assignment(requirements(facts, risk, POLICY, TODAY), [], set(), TODAY)
    assigned = apply(changes, [])
    served = {(t, c.kind) for c in changes for t in c.triggers}
    served_by = {(t, c.kind): a.id for c, a in zip(changes, assigned) for t in c.triggers}
    day = TODAY + D(later)
    again = plan_assignment(requirements(facts, risk, POLICY, day), [a for a in assigned if a.ends_on >= day], served, day, served_by)
    assert not any(c.changed for c in again)


@settings(max_examples=200, deadline=None)
@given(facts_st(), risk_st, st.sampled_from(RULES), st.integers(7, 30))
def test_a_policy_change_never_shortens_an_open_measure(facts, risk, rule, days):
    changes = plan_assignment(requirements(facts, risk, POLICY, TODAY), [], set(), TODAY)
    assigned = apply(changes, [])
    served = {(t, c.kind) for c in changes for t in c.triggers}
    served_by = {(t, c.kind): a.id for c, a in zip(changes, assigned) for t in c.triggers}
    changed = longer(POLICY, rule, days)  # shorter or longer than the first measure was
    after = apply(plan_assignment(requirements(facts, risk, changed, TODAY), assigned, served, TODAY, served_by), assigned)
    before = {a.id: a.ends_on for a in assigned}
    assert all(a.ends_on >= before[a.id] for a in after if a.id in before)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 3), st.integers(-3, 3), st.lists(st.tuples(st.integers(-5, 3), st.sampled_from(["negative", "pending"])), max_size=4))
def test_release_is_blocked_exactly_while_the_negatives_are_missing(after, end_shift, taken):
    end = TODAY + D(end_shift)
    tests = release.needs(POLICY, "local_case_province_travel", "home_health_monitoring")
    samples = tuple(Sample(at(end + D(n), 9), outcome) for n, outcome in taken)
    got = release.outcome(tests, end, end + D(after), samples)
    good = {s.collected_at for s in samples if s.outcome == "negative" and s.collected_at.date() >= end - D(2)}
    assert got == ("open" if after == 0 else "complete" if len(good) >= 2 else "blocked")
