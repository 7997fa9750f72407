"""The policy engine: the table of docs/domain.md, and properties that must hold for any facts."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from cordon.clock import CHINA
from cordon.policy import default
from services.registry.domain import engine
from services.registry.domain.engine import Assigned, Exposure, PersonFacts, Travel, plan_assignment, requirements

POLICY = default()
TODAY = date(2022, 1, 20)
D = timedelta


def kinds(reqs):
    return [(r.rule, r.kind, r.starts_on, r.ends_on) for r in reqs]


def test_high_risk_travel_is_14_days_centralized_then_7_home_monitoring_from_the_day_of_leaving():
    left = TODAY - D(3)
    reqs = requirements(PersonFacts(travel=(Travel("420106", left - D(2), left),)), {"420106": "high"}, POLICY, TODAY)
    assert kinds(reqs) == [
        ("high_risk_travel", "centralized_quarantine", left, left + D(13)),
        ("high_risk_travel", "home_health_monitoring", left + D(14), left + D(20)),
    ]
    # The release test on the last day of quarantine; days 2 and 7 of home monitoring, and 7 days after release.
    assert reqs[0].test_days == (left + D(13),)
    assert reqs[1].test_days == (left + D(15), left + D(20), left + D(27))


def test_a_district_inside_a_high_risk_city_matches_and_levels_are_kept_apart():
    travel = (Travel("420106", TODAY - D(5), TODAY - D(4)),)
    assert {r.rule for r in requirements(PersonFacts(travel=travel), {"420100": "high"}, POLICY, TODAY)} == {"high_risk_travel"}
    assert {r.rule for r in requirements(PersonFacts(travel=travel), {"420106": "medium"}, POLICY, TODAY)} == {"medium_risk_travel"}
    assert requirements(PersonFacts(travel=travel), {"320413": "high"}, POLICY, TODAY) == []


def test_city_level_record_for_a_city_with_a_risk_area():
    travel = (Travel("420100", TODAY - D(5), TODAY - D(4)),)
    reqs = requirements(PersonFacts(travel=travel), {"420106": "medium"}, POLICY, TODAY)
    assert kinds(reqs) == [("risk_city_travel", "home_health_monitoring", TODAY - D(4), TODAY + D(2))]


def test_travel_window_is_14_days_from_leaving():
    risk = {"420106": "medium"}
    inside = PersonFacts(travel=(Travel("420106", TODAY - D(20), TODAY - D(14)),))
    outside = PersonFacts(travel=(Travel("420106", TODAY - D(20), TODAY - D(15)),))
    # Left 14 days ago: its 7-day chain is already over, so nothing either way; with high risk the
    # 21-day chain still runs.
    assert requirements(outside, {"420106": "high"}, POLICY, TODAY) == []
    assert requirements(inside, {"420106": "high"}, POLICY, TODAY) != []
    assert requirements(inside, risk, POLICY, TODAY) == []


def test_inbound_14_7_7_with_4_plus_1_tests():
    entry = TODAY - D(1)
    reqs = requirements(PersonFacts(tags=frozenset({"inbound"}), dates={"entry_date": entry}), {}, POLICY, TODAY)
    assert kinds(reqs) == [
        ("inbound", "centralized_quarantine", entry, entry + D(13)),
        ("inbound", "home_quarantine", entry + D(14), entry + D(20)),
        ("inbound", "daily_health_monitoring", entry + D(21), entry + D(27)),
    ]
    # Day 1 is yesterday: found a day late, the arrival is tested today instead of losing that test.
    assert [r.test_days for r in reqs] == [(entry, TODAY, entry + D(13)), (entry + D(20),), (entry + D(27),)]
    on_time = requirements(PersonFacts(tags=frozenset({"inbound"}), dates={"entry_date": TODAY}), {}, POLICY, TODAY)
    assert [r.test_days for r in on_time] == [(TODAY, TODAY + D(13)), (TODAY + D(20),), (TODAY + D(27),)]


def test_close_contact_and_gathering_exposure():
    on = TODAY - D(2)
    facts = PersonFacts(exposures=(Exposure("close_contact", str(on), on), Exposure("gathering_exposure", "g1", on)))
    reqs = requirements(facts, {}, POLICY, TODAY)
    assert ("close_contact", "centralized_quarantine", on, on + D(13)) in kinds(reqs)
    gathering = [r for r in reqs if r.rule == "gathering_exposure"]
    # As a close spacetime companion (紧密时空伴随者): 14 + 7 with its tests.
    assert kinds(gathering) == [
        ("gathering_exposure", "centralized_quarantine", on, on + D(13)),
        ("gathering_exposure", "home_health_monitoring", on + D(14), on + D(20)),
    ]
    assert [r.test_days for r in gathering] == [(on + D(13),), (on + D(15), on + D(20), on + D(27))]


def test_a_person_found_late_has_a_test_today_in_the_first_part_still_running():
    entry = TODAY - D(16)  # centralized quarantine over: its two tests are lost, home quarantine runs
    reqs = requirements(PersonFacts(tags=frozenset({"inbound"}), dates={"entry_date": entry}), {}, POLICY, TODAY)
    assert [r.kind for r in reqs] == ["home_quarantine", "daily_health_monitoring"]
    assert reqs[0].test_days == (TODAY, entry + D(20))
    changes = plan_assignment(reqs, [], set(), TODAY)
    assert {c.kind: c.test_days for c in changes} == {"home_quarantine": (TODAY, entry + D(20)), "daily_health_monitoring": (entry + D(27),)}
    # A chain whose past days had no tests asks for none today.
    left = TODAY - D(3)
    travel = requirements(PersonFacts(travel=(Travel("420106", left, left),)), {"420106": "high"}, POLICY, TODAY)
    assert all(TODAY not in r.test_days for r in travel)


def test_a_chain_wholly_in_the_past_assigns_nothing_and_a_partly_served_one_is_filled_up():
    long_ago = PersonFacts(exposures=(Exposure("close_contact", "x", TODAY - D(30)),))
    assert requirements(long_ago, {}, POLICY, TODAY) == []
    partly = requirements(PersonFacts(exposures=(Exposure("close_contact", "y", TODAY - D(16)),)), {}, POLICY, TODAY)
    # The quarantine is over; only the monitoring remains, with its original dates (填平补齐).
    assert kinds(partly) == [("close_contact", "home_health_monitoring", TODAY - D(2), TODAY + D(4))]


def apply(changes, assigned):
    """What the service does with changes: new measures get ids, extensions replace."""
    by_id = {a.id: a for a in assigned}
    for c in changes:
        if not c.changed:
            continue
        mid = c.measure_id or uuid.uuid4()
        status = "scheduled" if c.starts_on > TODAY else "active"
        by_id[mid] = Assigned(mid, c.kind, c.rule, c.starts_on, c.ends_on, status, c.test_days)
    return list(by_id.values())


def test_latest_end_per_kind_wins_and_overlaps_merge():
    first = requirements(PersonFacts(exposures=(Exposure("close_contact", "a", TODAY - D(5)),)), {}, POLICY, TODAY)
    assigned = apply(plan_assignment(first, [], set(), TODAY), [])
    served = {(r.trigger, r.kind) for r in first}
    later = requirements(
        PersonFacts(exposures=(Exposure("close_contact", "a", TODAY - D(5)), Exposure("close_contact", "b", TODAY - D(1)))),
        {}, POLICY, TODAY,
    )
    changes = plan_assignment(later, assigned, served, TODAY)
    after = apply(changes, assigned)
    quarantine = [a for a in after if a.kind == "centralized_quarantine"]
    assert len(quarantine) == 1
    assert quarantine[0].starts_on == TODAY - D(5) and quarantine[0].ends_on == TODAY - D(1) + D(13)


# --- properties --------------------------------------------------------------------------

# 420500 (宜昌) and 420502 are other cities of 湖北 than 武汉 (420100): the province rule's ground.
regions_st = st.sampled_from(["420106", "420102", "420100", "420500", "420502", "110101", "320413", "320400"])
EXPOSURE_RULES = ["close_contact", "secondary_contact", "spacetime_companion", "released_contact_exposure", "gathering_exposure"]
risk_st = st.dictionaries(
    st.sampled_from(["420106", "420100", "110101", "420000"]), st.sampled_from(["high", "medium", "local"]), max_size=3
)


@st.composite
def facts_st(draw):
    travel = []
    for _ in range(draw(st.integers(0, 4))):
        last = TODAY - D(draw(st.integers(0, 30)))
        travel.append(Travel(draw(regions_st), last - D(draw(st.integers(0, 5))), last))
    exposures = [
        Exposure(rule, str(n), TODAY - D(draw(st.integers(0, 30))))
        for n, rule in enumerate(draw(st.lists(st.sampled_from(EXPOSURE_RULES), max_size=3)))
    ]
    tags = frozenset(draw(st.sets(st.sampled_from(["inbound", "student"]))))
    dates = {"entry_date": TODAY - D(draw(st.integers(0, 40)))} if "inbound" in tags else {}
    if draw(st.booleans()):
        dates["discharged_on"] = TODAY - D(draw(st.integers(0, 30)))
    samples = tuple(
        engine.Sample(datetime.combine(TODAY - D(draw(st.integers(0, 20))), time(draw(st.integers(0, 23))), tzinfo=CHINA),
                      draw(st.sampled_from(["negative", "pending", "positive"])))
        for _ in range(draw(st.integers(0, 3)))
    )
    return PersonFacts(tags=tags, dates=dates, travel=tuple(travel), exposures=tuple(exposures), samples=samples)


def run(facts, risk, assigned, served, today=TODAY):
    reqs = requirements(facts, risk, POLICY, today)
    changes = plan_assignment(reqs, assigned, served, today)
    served = served | {(t, c.kind) for c in changes for t in c.triggers}
    return apply(changes, assigned), served, changes


@settings(max_examples=300, deadline=None)
@given(facts_st(), risk_st)
def test_assignment_is_idempotent(facts, risk):
    assigned, served, _ = run(facts, risk, [], set())
    again, served_again, changes = run(facts, risk, assigned, served)
    assert sorted(again, key=lambda a: a.id) == sorted(assigned, key=lambda a: a.id)
    assert not any(c.changed for c in changes)
    assert served_again == served


@settings(max_examples=300, deadline=None)
@given(facts_st(), risk_st)
def test_no_test_day_is_lost_a_chain_with_past_test_days_is_tested_today(facts, risk):
    reqs = requirements(facts, risk, POLICY, TODAY)
    assigned, _, _ = run(facts, risk, [], set())
    assert all(d >= TODAY for a in assigned for d in a.test_days)
    for trigger in {r.trigger for r in reqs}:
        parts = [r for r in reqs if r.trigger == trigger]
        rule = POLICY.rules[parts[0].rule]
        dropped = rule.measures[: len(rule.measures) - len(parts)]
        start = parts[0].starts_on - D(sum(step.days for step in dropped))
        full = engine.chain(parts[0].rule, rule, trigger, start)
        past = [d for r in full for d in r.test_days if d < TODAY]
        on_time = {d for r in full for d in r.test_days}
        assert (TODAY in parts[0].test_days) == (bool(past) or TODAY in {d for d in parts[0].test_days if d in on_time})


@settings(max_examples=300, deadline=None)
@given(facts_st(), risk_st)
def test_nothing_is_assigned_that_ends_before_today(facts, risk):
    for r in requirements(facts, risk, POLICY, TODAY):
        assert r.ends_on >= TODAY
    assigned, _, _ = run(facts, risk, [], set())
    assert all(a.ends_on >= TODAY for a in assigned)


@settings(max_examples=300, deadline=None)
@given(facts_st(), risk_st, facts_st(), risk_st)
def test_end_dates_never_shrink_on_re_evaluation(facts, risk, more, more_risk):
    assigned, served, _ = run(facts, risk, [], set())
    combined = PersonFacts(
        tags=facts.tags | more.tags, dates={**more.dates, **facts.dates},
        travel=facts.travel + more.travel, exposures=facts.exposures,
    )
    after, _, _ = run(combined, {**risk, **more_risk}, assigned, served)
    before_ends = {a.id: a.ends_on for a in assigned}
    for a in after:
        if a.id in before_ends:
            assert a.ends_on >= before_ends[a.id]


@settings(max_examples=200, deadline=None)
@given(facts_st(), risk_st)
def test_one_open_measure_per_kind_and_trigger_is_never_served_twice(facts, risk):
    assigned, served, changes = run(facts, risk, [], set())
    triggers = [(t, c.kind) for c in changes for t in c.triggers]
    assert len(triggers) == len(set(triggers))
    by_kind: dict[str, list] = {}
    for a in assigned:
        by_kind.setdefault(a.kind, []).append(a)
    for same in by_kind.values():
        spans = sorted((a.starts_on, a.ends_on) for a in same)
        for (_s1, e1), (s2, _) in zip(spans, spans[1:]):
            assert s2 > e1 + D(1)  # separate episodes never overlap or touch


def test_chain_lays_measures_end_to_end():
    rule = POLICY.rules["inbound"]
    parts = engine.chain("inbound", rule, "t", TODAY)
    for a, b in zip(parts, parts[1:]):
        assert b.starts_on == a.ends_on + D(1)


COMMUNITY = "420106001002"  # a community of 武昌区 (420106), in 武汉市 (420100)


def rules_for(region: str, risk: dict[str, str]) -> set[str]:
    travel = (Travel(region, TODAY - D(5), TODAY - D(4)),)
    return {r.rule for r in requirements(PersonFacts(travel=travel), risk, POLICY, TODAY)}


def test_a_record_inside_a_risk_community_matches_the_community():
    assert rules_for(COMMUNITY, {COMMUNITY: "high"}) == {"high_risk_travel"}
    assert rules_for(COMMUNITY + "003", {COMMUNITY: "medium"}) == {"medium_risk_travel"}  # a grid of it
    assert rules_for("420106001003", {COMMUNITY: "high"}) == {"local_case_county_travel"}  # the next community


def test_a_county_record_where_the_county_holds_a_risk_community_follows_the_county_rules():
    assert rules_for("420106", {COMMUNITY: "high"}) == {"local_case_county_travel"}
    assert rules_for("420106", {COMMUNITY: "medium"}) == {"local_case_county_travel"}
    assert rules_for("420106001", {COMMUNITY: "medium"}) == {"local_case_county_travel"}  # its street
    assert rules_for("420111", {COMMUNITY: "high"}) == {"risk_city_travel"}  # another county of the city
    assert rules_for("420100", {COMMUNITY: "medium"}) == {"risk_city_travel"}  # the city itself
    assert rules_for("420106", {COMMUNITY: "high"}) == rules_for("420106", {COMMUNITY: "high", "420106": "local"})
    assert rules_for("320413", {COMMUNITY: "high"}) == set()
    county = requirements(PersonFacts(travel=(Travel("420106", TODAY - D(5), TODAY - D(4)),)), {COMMUNITY: "high"}, POLICY, TODAY)
    assert [r.kind for r in county] == ["centralized_quarantine", "home_health_monitoring"]  # as high_risk_travel


def test_local_cases_reported_by_a_county_whatever_its_level():
    assert rules_for("420106", {"420106": "local"}) == {"local_case_county_travel"}
    assert rules_for("420106001003", {"420106": "local"}) == {"local_case_county_travel"}
    assert rules_for("420111", {"420106": "local"}) == {"risk_city_travel"}
    assert rules_for("420100", {"420106": "local"}) == {"risk_city_travel"}
    assert rules_for("110101", {"420106": "local"}) == set()
    assert rules_for("441900003", {"441900003001": "high"}) == {"local_case_county_travel"}  # a town of 东莞 (no counties)
