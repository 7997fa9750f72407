"""The health code: a colour and its reasons, derived from a person's state and the policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from cordon.policy import Policy
from services.registry.domain.measures import KIND_TITLES


@dataclass(frozen=True)
class ActiveMeasure:
    kind: str
    rule: str
    ends_on: date


@dataclass(frozen=True)
class HealthState:
    measures: tuple[ActiveMeasure, ...] = ()
    case: bool = False  # confirmed or asymptomatic case
    positive_at: datetime | None = None
    pool_positive_due_by: datetime | None = None
    overdue_since: date | None = None
    fever_celsius: float | None = None
    rule_titles: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Reason:
    rule: str
    detail: str
    until: date | None = None


def conditions(state: HealthState) -> list[tuple[str, Reason]]:
    """Every condition the state meets, with the reason a grid worker reads out."""
    found: list[tuple[str, Reason]] = []
    for m in sorted(state.measures, key=lambda m: m.ends_on):
        title = state.rule_titles.get(m.rule, m.rule)
        found.append((f"measure:{m.kind}", Reason(m.rule, f"{KIND_TITLES[m.kind]['zh']}（{title}）", m.ends_on)))
    if state.case:
        found.append(("case", Reason("case", "确诊或无症状感染者")))
    if state.positive_at is not None:
        found.append(("positive", Reason("positive", "核酸检测单管阳性")))
    if state.pool_positive_due_by is not None:
        found.append(
            ("pool_positive", Reason("pool_positive", "混管阳性，待单管复核", state.pool_positive_due_by.date()))
        )
    if state.overdue_since is not None:
        found.append(("test_overdue", Reason("test_overdue", f"应于{state.overdue_since}完成核酸检测，已逾期")))
    if state.fever_celsius is not None:
        found.append(("fever", Reason("fever", f"随访体温{state.fever_celsius:.1f}℃")))
    return found


def derive(state: HealthState, policy: Policy) -> tuple[str, list[Reason]]:
    """Red if any red condition holds, else yellow if any yellow one, else green; reasons of the colour first."""
    met = conditions(state)
    red = [r for c, r in met if c in policy.health_code.red]
    yellow = [r for c, r in met if c in policy.health_code.yellow]
    if red:
        return "red", red + yellow
    if yellow:
        return "yellow", yellow
    return "green", []
