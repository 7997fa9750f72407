"""A household: the same address in the same village; its test days from the policy ("4+1")."""

from __future__ import annotations

from datetime import date

from cordon.policy import default
from services.registry.domain import household

POLICY = default()
VILLAGE = "320413001001"


def test_same_address_in_the_same_village_is_one_household():
    assert household.same_household(VILLAGE, "华城路 1 号", VILLAGE + "001", "华城路1号")  # a grid of the village
    assert not household.same_household(VILLAGE, "华城路1号", "320413001002", "华城路1号")  # another village
    assert not household.same_household("320413001", "华城路1号", "320413001", "华城路1号")  # a township: too coarse
    assert not household.same_household(VILLAGE, "", VILLAGE, "")
    assert not household.same_household(VILLAGE, None, VILLAGE, None)
    assert not household.same_household(VILLAGE, "华城路1号", VILLAGE, "华城路2号")


def test_the_inbound_household_is_tested_with_the_last_day_of_home_quarantine():
    inbound = POLICY.rules["inbound"]
    start, end = date(2022, 3, 15), date(2022, 3, 21)
    assert household.test_days(inbound, "home_quarantine", start, end) == [end]
    assert household.test_days(inbound, "centralized_quarantine", date(2022, 3, 1), date(2022, 3, 14)) == []
    assert household.test_days(POLICY.rules["close_contact"], "home_health_monitoring", start, end) == []
    assert household.test_days(None, "home_quarantine", start, end) == []


def test_a_household_key_links_people_of_one_county_whatever_their_addresses():
    assert household.linked(VILLAGE, "JT-0001", "320413002003", "JT-0001")
    assert not household.linked(VILLAGE, "JT-0001", "320412001001", "JT-0001")  # another county
    assert not household.linked(VILLAGE, None, VILLAGE, None) and not household.linked(VILLAGE, "a", VILLAGE, "b")
