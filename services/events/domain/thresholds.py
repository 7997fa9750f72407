"""What a gathering needs before it may happen, from the policy's gathering thresholds.

Order matters and follows the texts: a prohibition ends the question; 50+ needs
plans and approval (approval wins over filing); banquets of 5+ tables, weddings
and funerals are filed; anything else is recorded, a large family gathering
with a warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from cordon.errors import Unprocessable
from cordon.policy import Gatherings

PLANS = ("prevention_plan", "emergency_plan")


class GatheringProhibited(Unprocessable):
    code = "gathering_prohibited"


class PlanRequired(Unprocessable):
    code = "prevention_plan_required"


class GatheringEnded(Unprocessable):
    code = "gathering_ended"


class GatheringInvalid(Unprocessable):
    code = "validation_error"


@dataclass(frozen=True)
class Warning:
    code: str
    message: str


@dataclass(frozen=True)
class Assessment:
    requirement: str  # none | filing | approval
    status: str  # recorded | filed | pending_approval
    warnings: list[Warning] = field(default_factory=list)


def check_shape(kind: str, expected_attendees: int, tables: int | None) -> None:
    """Sizes are positive; tables belong to banquets, and a banquet states them (its filing depends on it)."""
    problems = []
    if expected_attendees <= 0:
        problems.append({"field": "expected_attendees", "message": "must be positive"})
    if tables is not None and tables <= 0:
        problems.append({"field": "tables", "message": "must be positive"})
    if kind != "banquet" and tables is not None:
        problems.append({"field": "tables", "message": "only a banquet has tables"})
    if kind == "banquet" and tables is None:
        problems.append({"field": "tables", "message": "a banquet states its number of tables"})
    if problems:
        raise GatheringInvalid("The gathering's size is not valid.", errors=problems)


def check_times(starts_at: datetime, ends_at: datetime, now: datetime) -> list[Warning]:
    """Ends after it starts; one already over cannot be filed; one under way can (filing at the door)."""
    if ends_at <= starts_at:
        raise GatheringInvalid("A gathering ends after it starts.", errors=[{"field": "ends_at", "message": "must be after starts_at"}])
    if ends_at <= now:
        raise GatheringEnded("This gathering has already ended; it can no longer be filed.", errors=[{"field": "ends_at", "message": "in the past"}])
    if starts_at <= now:
        return [Warning("already_started", "The gathering was filed after it started.")]
    return []


def assess(kind: str, expected_attendees: int, tables: int | None, plans: set[str], rules: Gatherings) -> Assessment:
    """The requirement, initial status and warnings of a gathering; raises when it may not happen as filed."""
    if expected_attendees >= rules.prohibited_from:
        raise GatheringProhibited(
            f"Gatherings of {rules.prohibited_from} or more people are prohibited ({expected_attendees} expected).",
            rule="prohibited_from", limit=rules.prohibited_from,
        )
    if kind in rules.suspended_kinds:
        raise GatheringProhibited(
            f"Gatherings of kind {kind!r} are suspended by the current policy.", rule="suspended_kinds", kind=kind,
        )
    warnings = []
    if kind == "family" and expected_attendees > rules.family_warning_over:
        warnings.append(Warning(
            "family_gathering_large",
            f"Family gatherings should keep to {rules.family_warning_over} people or fewer ({expected_attendees} expected).",
        ))
    if expected_attendees >= rules.approval_from:
        missing = [plan for plan in PLANS if plan not in plans]
        if missing:
            raise PlanRequired(
                f"Gatherings of {rules.approval_from} or more need a prevention plan and an emergency plan; missing: {', '.join(missing)}.",
                missing=missing, errors=[{"field": plan, "message": "required"} for plan in missing],
            )
        return Assessment("approval", "pending_approval", warnings)
    if (kind == "banquet" and (tables or 0) >= rules.filing_tables_from) or kind in rules.filing_kinds:
        return Assessment("filing", "filed", warnings)
    return Assessment("none", "recorded", warnings)
