"""The engine is total over what the API accepts: no date the schemas let in makes it raise or overflow.

A travel record with last_seen 9999-12-31 once made the engine's chain raise OverflowError,
failing PUT /risk-areas and then every tick of the registry's clock.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from cordon import bounds
from cordon.policy import Policy, default
from services.registry.domain import engine
from services.registry.domain.engine import Exposure, PersonFacts, Travel, plan_assignment, requirements

D = timedelta


def longest(policy: Policy) -> Policy:
    """The default policy with every duration at the largest the policy schema allows."""
    doc = policy.model_dump()
    doc["travel_window_days"] = 60
    for rule in doc["rules"].values():
        for step in rule["measures"]:
            step["days"] = 365
        for test in rule["tests"]:
            if test.get("after_chain") is not None:
                test["after_chain"] = 365
    return Policy.model_validate(doc)


POLICIES = [default(), longest(default())]
days = st.dates(min_value=bounds.EARLIEST, max_value=bounds.latest())
regions = st.sampled_from(["420106", "420100", "420000", "110101", "320413"])


@st.composite
def inputs(draw):
    policy = draw(st.sampled_from(POLICIES))
    today = draw(days)
    horizon = policy.travel_window_days
    travel = []
    for _ in range(draw(st.integers(0, 4))):
        # A partner line: last_seen within the policy's horizon of today, first_seen any accepted day before it.
        last = draw(st.dates(min_value=max(bounds.EARLIEST, today - D(horizon)), max_value=today + D(horizon)))
        first = draw(st.dates(min_value=bounds.EARLIEST, max_value=last))
        travel.append(Travel(draw(regions), first, last))
    exposures = tuple(
        Exposure(rule, str(n), draw(days))
        for n, rule in enumerate(draw(st.lists(st.sampled_from(["close_contact", "gathering_exposure"]), max_size=3)))
    )
    tags = frozenset(draw(st.sets(st.sampled_from(["inbound", "student", "high_risk_post"]))))
    dates = {"entry_date": draw(days)} if "inbound" in tags else {}
    risk = draw(st.dictionaries(regions, st.sampled_from(["high", "medium", "low"]), max_size=3))
    facts = PersonFacts(tags=tags, dates=dates, travel=tuple(travel), exposures=exposures)
    return facts, risk, policy, today


@settings(max_examples=500, deadline=None, derandomize=True)
@given(inputs())
def test_no_accepted_input_makes_the_engine_raise_or_reach_the_calendars_end(case):
    facts, risk, policy, today = case
    required = requirements(facts, risk, policy, today)
    changes = plan_assignment(required, [], set(), today)
    assigned = [engine.Assigned(id=uuid.uuid4(), kind=c.kind, rule=c.rule, starts_on=c.starts_on, ends_on=c.ends_on,
                                status="active", test_days=c.test_days) for c in changes]
    again = plan_assignment(required, assigned, set(), today)
    for item in [*required, *changes, *again]:
        for day in (item.starts_on, item.ends_on, *item.test_days):
            assert date.min < day < date.max  # nothing was held at the calendar's ends: no overflow was near


def test_a_row_from_before_the_bounds_does_not_stop_the_rules():
    """A far-future record already stored (written before the schemas bounded it) is held at the calendar's end."""
    facts = PersonFacts(travel=(Travel("420106", date(9999, 12, 1), date(9999, 12, 31)),),
                        exposures=(Exposure("close_contact", "x", date(9999, 12, 31)),))
    required = requirements(facts, {"420106": "high"}, default(), date(2026, 1, 1))
    assert required and max(r.ends_on for r in required) == date.max
    assert plan_assignment(required, [], set(), date(2026, 1, 1))
