"""The health code: a colour and its reasons, derived from a person's state and the policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from cordon.clock import CHINA
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


def day_words(on: date) -> str:
    """A day as a person writes it in Chinese: 3月28日."""
    return f"{on.month}月{on.day}日"


def conditions(state: HealthState) -> list[tuple[str, Reason]]:
    """Every condition the state meets, with the reason a grid worker reads out (and the resident reads):
    written as a person would, e.g. 高风险地区旅居史，集中隔离至3月28日. A measure set by hand names no rule
    of the policy and says only what and until when; a positive before the CDC review is an abnormal result."""
    found: list[tuple[str, Reason]] = []
    for m in sorted(state.measures, key=lambda m: m.ends_on):
        what = f"{KIND_TITLES[m.kind]['zh']}至{day_words(m.ends_on)}"
        title = state.rule_titles.get(m.rule)
        found.append((f"measure:{m.kind}", Reason(m.rule, f"{title}，{what}" if title else what, m.ends_on)))
    if state.case:
        found.append(("case", Reason("case", "确诊病例或无症状感染者")))
    if state.positive_at is not None:
        found.append(("positive", Reason("positive", "核酸检测结果异常，待疾控部门复核")))
    if state.pool_positive_due_by is not None:
        due = state.pool_positive_due_by.astimezone(CHINA)
        found.append(("pool_positive", Reason(
            "pool_positive", f"混采检测结果异常，需于{day_words(due.date())}{due:%H:%M}前完成单管复检", due.date())))
    if state.overdue_since is not None:
        found.append(("test_overdue", Reason(
            "test_overdue", f"应于{day_words(state.overdue_since)}完成的核酸检测已逾期，请尽快检测")))
    if state.fever_celsius is not None:
        found.append(("fever", Reason("fever", f"随访时体温{state.fever_celsius:.1f}℃，请及时就医排查")))
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
