"""Who hears of grid-accountability events: the staff named, by username, and the officials who answer for a region."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from services.notify.domain import recipients
from services.notify.domain.recipients import Staff

O1 = Staff("o1", "official", ("320413",), "enc")
O_CITY = Staff("o-city", "official", ("320400",))
ROOT = Staff("root", "admin")
G1 = Staff("g1", "grid_worker", ("320413",), "enc")
G_NO_PHONE = Staff("g2", "grid_worker", ("320413",))


def test_officials_of_a_region_are_its_own_then_the_nearest_above_then_admins():
    assert recipients.officials_of([O1, O_CITY, ROOT, G1], "320413") == [O1]
    assert recipients.officials_of([O_CITY, ROOT, G1], "320413") == [O_CITY]
    assert recipients.officials_of([ROOT, G1], "320413") == [ROOT]
    assert recipients.officials_of([G1], "320413") == []
    assert recipients.officials_of([O1, O_CITY], "320400") == [O_CITY]  # the city's, not the district's below it


def test_named_keeps_the_event_order_once_each_and_reports_the_unknown():
    found, unknown = recipients.named([G1, O1], ["o1", "ghost", "g1", "o1"])
    assert found == [O1, G1] and unknown == ["ghost"]
    assert recipients.named([], []) == ([], [])


def test_together_tells_someone_in_two_groups_once():
    assert recipients.together([G1, O1], [O1, O_CITY]) == [G1, O1, O_CITY]


def test_one_person_holding_two_duties_is_told_once_with_both():
    held = recipients.duties_by_username(
        {"township_cadre": "z1", "village_cadre": "z1", "doctor": None, "police": "p1", "grid_worker": "g1"})
    assert held == {"z1": ["township_cadre", "village_cadre"], "p1": ["police"], "g1": ["grid_worker"]}


@given(st.dictionaries(st.sampled_from(["township_cadre", "village_cadre", "doctor", "police", "grid_worker"]),
                       st.one_of(st.none(), st.sampled_from(["a", "b", "c"]))))
def test_every_named_duty_reaches_its_holder_and_no_empty_one_does(staff):
    held = recipients.duties_by_username(staff)
    assert sorted(d for duties in held.values() for d in duties) == sorted(d for d, u in staff.items() if u)
    assert all(staff[d] == u for u, duties in held.items() for d in duties)


def test_accountability_notices_go_by_inbox_and_sms_but_sms_only_with_a_phone():
    for kind in ("staff_assigned", "staff_missing", "followup_missed", "followup_escalated", "report_reminder", "report_missing"):
        plans = recipients.to_staff(kind, [G1, G_NO_PHONE], {}, region_code="320413")
        assert sorted((p.recipient, p.channel) for p in plans) == [("g1", "inbox"), ("g1", "sms"), ("g2", "inbox")]
        assert not any(p.urgent for p in plans)  # no acknowledgement asked: not an alert
