"""The counters' pure rules: contributions, deltas between states, and the roll-up one level down."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from services.registry.domain import stats

PLACES = ["320413", "320413100201", "320413100202001", "320413101201", "320412100201"]
states = st.one_of(st.none(), st.builds(stats.PersonState, st.sampled_from(PLACES), st.sampled_from(stats.COLORS), st.booleans()))


def place_totals(state):
    return Counter({(state.region_code, m): n for m, n in stats.person_counts(state).items()}) if state else Counter()


@given(st.lists(states, min_size=1, max_size=12))
def test_applying_each_delta_keeps_the_counters_equal_to_the_last_state(sequence):
    counters: Counter = Counter()
    previous = None
    for state in sequence:
        before = (previous.region_code, stats.person_counts(previous)) if previous else None
        after = (state.region_code, stats.person_counts(state)) if state else None
        counters.update(stats.deltas(before, after))
        previous = state
    assert +counters == place_totals(previous) and not -counters


def test_a_move_carries_the_measures_and_a_colour_change_moves_one_count():
    carried = stats.measure_counts("home_quarantine", "active")
    a = stats.PersonState("320413100201", "yellow", False)
    b = stats.PersonState("320413101201", "yellow", True)
    assert stats.deltas(("320413100201", stats.person_counts(a) + carried), ("320413101201", stats.person_counts(b) + carried)) == {
        ("320413100201", "people"): -1, ("320413100201", "color.yellow"): -1, ("320413100201", "measure.home_quarantine"): -1,
        ("320413101201", "people"): 1, ("320413101201", "color.yellow"): 1, ("320413101201", "measure.home_quarantine"): 1,
        ("320413101201", "tests_overdue"): 1,
    }
    c = stats.PersonState("320413100201", "red", False)
    assert stats.deltas(("320413100201", stats.person_counts(a)), ("320413100201", stats.person_counts(c))) == {
        ("320413100201", "color.yellow"): -1, ("320413100201", "color.red"): 1}


def test_measures_and_leads_count_only_while_in_force():
    assert stats.measure_counts("home_quarantine", "scheduled") == Counter()
    assert stats.measure_counts("home_quarantine", "released") == Counter()
    assert stats.lead_counts(stats.LeadState("320413", False, True)) == Counter()
    assert stats.lead_counts(stats.LeadState("320413", True, True)) == Counter({"leads_open": 1, "leads_overdue": 1})


def test_roll_up_one_level_down():
    rows = [("320413100201", "people", 2), ("320413100202001", "people", 3), ("320413101201", "people", 1),
            ("320413", "people", 4), ("320413100201", "color.red", 1)]
    assert stats.roll_up("320413", rows) == {
        "320413100": Counter({"people": 5, "color.red": 1}), "320413101": Counter({"people": 1}), "320413": Counter({"people": 4})}
    assert stats.roll_up("320400", [("320413100201", "people", 2), ("320412", "people", 1)]) == {
        "320413": Counter({"people": 2}), "320412": Counter({"people": 1})}
    assert stats.roll_up(None, [("320413100201", "people", 2), ("", "leads_open", 1)]) == {"320000": Counter({"people": 2})}
