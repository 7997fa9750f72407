"""When a measure may end: 隔离期满核酸检测阴性方可解除. Pure: the policy, the measure's dates and the person's
samples decide; the clockwork and the result handler both ask here."""

from __future__ import annotations

from datetime import date
from typing import Literal

from cordon.clock import local_date
from cordon.policy import Policy, ReleaseTests
from services.registry.domain import engine

BLOCKED = "negative_test_missing"  # the reason a measure past its end stays active

Outcome = Literal["open", "complete", "blocked"]


def needs(policy: Policy, rule: str, kind: str) -> ReleaseTests | None:
    """The negative tests the policy asks before a measure of ``kind`` under ``rule`` ends (None: none)."""
    found = policy.rules.get(rule)
    step = next((s for s in found.measures if s.kind == kind), None) if found else None
    return step.release if step else None


def counted_negatives(tests: ReleaseTests, ends_on: date, samples: tuple[engine.Sample, ...]) -> int:
    """Negative samples collected in the measure's last ``within_days`` days or after it ended."""
    first = engine.plus(ends_on, 1 - tests.within_days)
    return len({s.collected_at for s in samples if s.outcome == "negative" and local_date(s.collected_at) >= first})


def tests_done(tests: ReleaseTests | None, ends_on: date, samples: tuple[engine.Sample, ...]) -> bool:
    """The negatives the measure needs are on file (or it needs none)."""
    return tests is None or counted_negatives(tests, ends_on, samples) >= tests.negatives


def outcome(tests: ReleaseTests | None, ends_on: date, today: date, samples: tuple[engine.Sample, ...]) -> Outcome:
    """``open`` until the measure's last day has passed; then ``complete`` when its negatives are on file (or it
    needs none), else ``blocked``: it stays active until they are."""
    if today <= ends_on:
        return "open"
    return "complete" if tests_done(tests, ends_on, samples) else "blocked"


def exempted(policy: Policy, rule: str, starts_on: date, samples: tuple[engine.Sample, ...]) -> bool:
    """A travel measure whose rule lifts it once the tests around the journey are on file (the province rule:
    a negative before leaving and a test on arrival), and they are; the measure starts on the day of leaving."""
    found = policy.rules.get(rule)
    return bool(found and found.exempt and engine.exempted(found.exempt, starts_on, samples))
