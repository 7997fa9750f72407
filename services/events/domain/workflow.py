"""The filing workflow as an explicit transition table: (status, action) -> new status.

Approval and rejection are only for gatherings pending approval (docs/api.md);
anything not open yet (recorded, filed, pending, approved) can be cancelled.
Every pair not in the table is an invalid transition.
"""

from __future__ import annotations

from cordon.errors import Conflict

STATUSES = ("recorded", "filed", "pending_approval", "approved", "rejected", "cancelled")
ACTIONS = ("approve", "reject", "cancel")
_PAST = {"approve": "approved", "reject": "rejected", "cancel": "cancelled"}

TRANSITIONS: dict[tuple[str, str], str] = {
    ("pending_approval", "approve"): "approved",
    ("pending_approval", "reject"): "rejected",
    ("recorded", "cancel"): "cancelled",
    ("filed", "cancel"): "cancelled",
    ("pending_approval", "cancel"): "cancelled",
    ("approved", "cancel"): "cancelled",
}

# Statuses in which attendees may still check in: everything not called off. A gathering
# awaiting approval that goes ahead anyway is better traced than not.
OPEN = frozenset({"recorded", "filed", "pending_approval", "approved"})


class InvalidTransition(Conflict):
    code = "invalid_transition"


class GatheringClosed(Conflict):
    code = "gathering_closed"


def next_status(status: str, action: str) -> str:
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        raise InvalidTransition(
            f"A gathering that is {status} cannot be {_PAST.get(action, action)}.", gathering_status=status, action=action
        ) from None


def check_open(status: str) -> None:
    if status not in OPEN:
        raise GatheringClosed(f"The gathering is {status}: no more check-ins.", gathering_status=status)
