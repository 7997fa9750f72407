"""Big-data leads (大数据推送排查): when a record makes a lead, where it goes, when it is due, how it closes.

Pure: the policy, the risk list and plain values in; reasons, places and times out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from cordon import regions
from cordon.policy import Policy
from services.registry.domain import engine
from services.registry.domain.risk import touches_risk

OUTCOMES = ("registered", "unreachable", "left_area", "not_found", "already_handled")
STATUSES = ("open", "closed")
SOURCES = ("travel_record", "import")
MAX_REASONS = 50  # a lead names at most this many reasons (a partner resending a trip day by day)


@dataclass(frozen=True)
class Reason:
    rule: str
    detail: str

    def as_dict(self) -> dict:
        return {"rule": self.rule, "detail": self.detail}


def travel_reasons(
    region_code: str, first_seen: date, last_seen: date, risk: dict[str, str], policy: Policy, today: date
) -> list[Reason]:
    """What a travel record would trigger for whoever it names: one reason per rule, none when it triggers nothing
    (outside the risk list, or a chain wholly in the past)."""
    if not risk or not touches_risk(region_code, risk):
        return []
    facts = engine.PersonFacts(travel=(engine.Travel(region_code, first_seen, last_seen),))
    rules = dict.fromkeys(r.rule for r in engine.requirements(facts, risk, policy, today))
    return [Reason(rule, f"{region_code} {first_seen.isoformat()}~{last_seen.isoformat()}") for rule in rules]


def place_for(current_region_code: str | None, partner_regions: tuple[str, ...] | list[str]) -> str | None:
    """Where the lead goes: where the person is now, else the partner's place (the one place all its regions
    lie in), else nowhere (None: admins only)."""
    if current_region_code:
        return current_region_code
    return common_place(partner_regions)


def common_place(codes: tuple[str, ...] | list[str]) -> str | None:
    """The smallest place holding every code; None for none, or codes in different provinces."""
    codes = [c for c in codes if regions.is_region_code(c)]
    if not codes:
        return None
    for place in regions.ancestors(codes[0]):  # nearest first
        if all(regions.contains(place, c) for c in codes):
            return place
    return None


def due_at(opened_at: datetime, policy: Policy) -> datetime:
    return opened_at + timedelta(hours=policy.leads.due_hours)


def is_overdue(status: str, due: datetime, now: datetime) -> bool:
    return status == "open" and due <= now


def merge_reasons(existing: list[dict], new: list[dict]) -> list[dict]:
    """Existing reasons and the new ones, each once, in arrival order, at most ``MAX_REASONS``."""
    seen = {(r["rule"], r["detail"]) for r in existing}
    merged = list(existing)
    for reason in new:
        key = (reason["rule"], reason["detail"])
        if key not in seen and len(merged) < MAX_REASONS:
            seen.add(key)
            merged.append(reason)
    return merged


def match_key(id_number_index: str | None, phone_index: str | None) -> str:
    """The key one open lead per person is kept under: the ID number's blind index, else the phone's."""
    if id_number_index:
        return f"id:{id_number_index}"
    if phone_index:
        return f"phone:{phone_index}"
    raise ValueError("a lead needs an ID number or a phone")


class OutcomeRefused(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def check_outcome(status: str, outcome: str, person_id: object | None) -> None:
    """Whether ``outcome`` may close a lead in ``status`` (raises OutcomeRefused with a stable code)."""
    if status != "open":
        raise OutcomeRefused("lead_closed", "The lead is already closed.")
    if outcome not in OUTCOMES:
        raise OutcomeRefused("outcome_unknown", f"outcome must be one of: {', '.join(OUTCOMES)}.")
    if outcome == "registered" and person_id is None:
        raise OutcomeRefused("person_id_required", "The outcome registered names the person registered (person_id).")


def may_hold(role: str, staff_regions: list[str], region_code: str | None, active: bool = True) -> bool:
    """Whether a staff member may be assigned a lead of ``region_code``: an active grid worker or official
    whose places hold it (admins hold every lead but are not assigned field work)."""
    return (
        active and region_code is not None and role in ("official", "grid_worker")
        and any(regions.contains(own, region_code) for own in staff_regions)
    )
