"""The filing workflow: every legal move, and every illegal one refused."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from services.events.domain import exposure, workflow
from services.events.domain.workflow import ACTIONS, STATUSES, TRANSITIONS, GatheringClosed, InvalidTransition

LEGAL = {
    ("pending_approval", "approve"): "approved",
    ("pending_approval", "reject"): "rejected",
    ("recorded", "cancel"): "cancelled",
    ("filed", "cancel"): "cancelled",
    ("pending_approval", "cancel"): "cancelled",
    ("approved", "cancel"): "cancelled",
}
ILLEGAL = [pair for pair in itertools.product(STATUSES, ACTIONS) if pair not in LEGAL]


def test_the_table_is_exactly_the_documented_one():
    assert TRANSITIONS == LEGAL


@pytest.mark.parametrize("status, action", sorted(LEGAL))
def test_legal_moves(status, action):
    assert workflow.next_status(status, action) == LEGAL[(status, action)]


@pytest.mark.parametrize("status, action", ILLEGAL)
def test_every_illegal_move_is_an_invalid_transition(status, action):
    with pytest.raises(InvalidTransition) as raised:
        workflow.next_status(status, action)
    assert raised.value.status == 409 and raised.value.code == "invalid_transition"
    assert raised.value.extra == {"gathering_status": status, "action": action}


def test_there_are_twelve_illegal_moves():
    # approve/reject from 5 statuses each, cancel from rejected and cancelled.
    assert len(ILLEGAL) == 12


@pytest.mark.parametrize("status", STATUSES)
def test_check_ins_only_while_not_called_off(status):
    if status in ("rejected", "cancelled"):
        with pytest.raises(GatheringClosed):
            workflow.check_open(status)
    else:
        workflow.check_open(status)


AT = datetime(2022, 1, 10, 4, 0, tzinfo=UTC)


RESULT_AT = AT + timedelta(hours=30)


@pytest.mark.parametrize("offset, inside", [
    (timedelta(0), True),
    (timedelta(days=-4), True),
    (timedelta(days=-4, seconds=-1), False),
    (timedelta(seconds=1), True),  # between sampling and result: the most infectious days
    (timedelta(hours=30), True),
    (timedelta(hours=30, seconds=1), False),
    (timedelta(days=-2), True),
])
def test_exposure_window_is_four_days_before_the_sample_until_the_result(offset, inside):
    assert exposure.in_window(AT + offset, AT, RESULT_AT, 4) is inside


def test_a_result_stamped_before_its_sample_ends_the_window_at_the_sample():
    assert exposure.window(AT, AT - timedelta(hours=1), 4) == (AT - timedelta(days=4), AT)


def test_keys_match_by_id_number_or_linked_phone():
    keys = exposure.Keys("id-a", "phone-a")
    assert keys.matches("id-a", None) and keys.matches(None, "phone-a") and keys.matches("id-b", "phone-a")
    assert not keys.matches("id-b", "phone-b") and not keys.matches(None, None)
    assert not exposure.Keys("id-a").matches(None, None)
