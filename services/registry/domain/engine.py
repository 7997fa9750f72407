"""The policy engine: which control measures a person must serve, and when they are tested.

Pure: given a person's facts, their travel, exposures, the risk list, the policy
and today, it returns requirements. Merging them with what is already assigned
is ``plan_assignment`` below, also pure.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from cordon import regions
from cordon.clock import CHINA
from cordon.policy import Exemption, Policy, Rule


@dataclass(frozen=True)
class Travel:
    region_code: str
    first_seen: date
    last_seen: date


@dataclass(frozen=True)
class Exposure:
    """A reason to serve a rule from a date: a gathering exposure, or a rule an official assigned by hand."""

    rule: str  # gathering_exposure, or any rule the policy lets an official assign (close_contact, ...)
    key: str  # what makes it one trigger: the gathering id, or the exposure date
    on: date


@dataclass(frozen=True)
class Sample:
    """A sample of the person: when it was collected and what it showed so far."""

    collected_at: datetime
    outcome: str  # pending | negative | positive | pool_positive | invalid


@dataclass(frozen=True)
class PersonFacts:
    tags: frozenset[str] = frozenset()
    dates: dict[str, date] = field(default_factory=dict)  # the person's date facts (cordon.policy.DATE_FACTS)
    travel: tuple[Travel, ...] = ()
    exposures: tuple[Exposure, ...] = ()
    samples: tuple[Sample, ...] = ()


@dataclass(frozen=True)
class Requirement:
    """One measure of one rule's chain for one trigger."""

    rule: str
    trigger: str  # identity of the trigger: a person never serves the same (trigger, kind) twice
    kind: str
    starts_on: date
    ends_on: date  # inclusive
    test_days: tuple[date, ...] = ()


def plus(day: date, days: int) -> date:
    """``day`` moved by ``days``, held at the calendar's ends instead of overflowing.

    The schemas keep dates within years of today, so this only matters for a row written
    before they did: it must not stop the rules (and the clock that runs them) for everyone.
    """
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.max if days > 0 else date.min


def chain(rule_name: str, rule: Rule, trigger: str, start: date) -> list[Requirement]:
    """The rule's measures laid end to end from ``start``, each with its own test days."""
    spans: dict[str, tuple[date, date]] = {}
    day = start
    for step in rule.measures:
        spans[step.kind] = (day, plus(day, step.days - 1))
        day = plus(day, step.days)
    last_kind = rule.measures[-1].kind
    chain_end = spans[last_kind][1]
    tests: dict[str, list[date]] = {kind: [] for kind in spans}
    for test in rule.tests:
        if test.after_chain is not None:
            tests[last_kind].append(plus(chain_end, test.after_chain))
        else:
            first, last = spans[test.measure]
            tests[test.measure].append(last if test.day == "last" else plus(first, test.day - 1))
    return [
        Requirement(rule_name, trigger, kind, first, last, tuple(sorted(set(tests[kind]))))
        for kind, (first, last) in spans.items()
    ]


LOCAL_CASES = "local"  # in the risk list: a place that reported local cases (本土病例) without being high or medium


def _risk_level(region_code: str, risk: dict[str, str]) -> str | None:
    """The highest level of any risk area containing ``region_code``."""
    levels = [level for area, level in risk.items() if regions.contains(area, region_code)]
    return "high" if "high" in levels else "medium" if "medium" in levels else None


def _has_cases(place: str | None, levels: list[str], risk: dict[str, str]) -> bool:
    """Whether ``place`` holds a risk area of one of ``levels`` (a community, a street, or itself), or reported
    local cases itself or somewhere inside it."""
    return place is not None and any(
        (level in levels or level == LOCAL_CASES) and regions.contains(place, area) for area, level in risk.items()
    )


def _county_rule(region_code: str, levels: list[str], risk: dict[str, str]) -> bool:
    """A record inside a county with local cases (one that reported them, or holds a high- or medium-risk
    community or street), outside the risk areas themselves (their own rules apply there). A record at county
    level for such a county matches: it cannot tell whether the person was in the community."""
    return _risk_level(region_code, risk) not in levels and _has_cases(regions.county(region_code), levels, risk)


def _city_rule(region_code: str, levels: list[str], risk: dict[str, str]) -> bool:
    """A record at city level for a city with a risk area or local cases, or in another county of that city
    (outside the risk areas, and outside the counties the county rule takes)."""
    if _risk_level(region_code, risk) in levels or not _has_cases(regions.city(region_code), levels, risk):
        return False
    at_city = len(region_code) == 6 and regions.level(region_code) == "city"
    return at_city or not _has_cases(regions.county(region_code), levels, risk)


def _province_rule(region_code: str, levels: list[str], risk: dict[str, str]) -> bool:
    """A record in a province with local cases, outside the cities that hold them (the city and county rules
    and the risk areas' own take those)."""
    province = region_code[:2] + "0000"
    if _risk_level(region_code, risk) in levels or _has_cases(regions.city(region_code), levels, risk):
        return False
    return _has_cases(province, levels, risk)


def _end_of_day(day: date) -> datetime:
    return datetime.combine(plus(day, 1), time(0), tzinfo=CHINA)


def exempted(exemption: Exemption, left: date, samples: tuple[Sample, ...]) -> bool:
    """A negative collected within the hours before leaving, and another sample within the hours of arriving.

    Records carry only the day of leaving: the departure is taken as the end of that day and the arrival as
    its start, so a proof is collected before the day ends and at most ``proof_before_hours`` earlier, and the
    arrival test on that day or within ``arrival_test_hours`` after it; they are two different samples."""
    departure, arrival = _end_of_day(left), datetime.combine(left, time(0), tzinfo=CHINA)
    proofs = [s for s in samples if s.outcome == "negative"
              and departure - timedelta(hours=exemption.proof_before_hours) <= s.collected_at < departure]
    arrivals = [s for s in samples if s.outcome not in ("positive", "invalid")
                and arrival <= s.collected_at < departure + timedelta(hours=exemption.arrival_test_hours)]
    return any(p != a for p in proofs for a in arrivals)


TRAVEL_RULES = {"county_travel": _county_rule, "city_travel": _city_rule, "province_travel": _province_rule}


def requirements(facts: PersonFacts, risk: dict[str, str], policy: Policy, today: date) -> list[Requirement]:
    """Everything the policy asks of this person now, chains wholly in the past left out."""
    window_start = plus(today, -policy.travel_window_days)
    found: list[Requirement] = []
    for name, rule in policy.rules.items():
        trigger = rule.trigger
        starts: list[tuple[str, date]] = []
        if trigger.type == "travel":
            for t in facts.travel:
                if t.last_seen >= window_start and _risk_level(t.region_code, risk) == trigger.level:
                    starts.append((f"{name}:{t.region_code}:{t.last_seen}", t.last_seen))
        elif trigger.type in TRAVEL_RULES:
            applies = TRAVEL_RULES[trigger.type]
            for t in facts.travel:
                if t.last_seen >= window_start and applies(t.region_code, trigger.levels, risk):
                    starts.append((f"{name}:{t.region_code}:{t.last_seen}", t.last_seen))
        elif (trigger.type == "date" or (trigger.type == "tag" and trigger.tag in facts.tags)) and (
            on := facts.dates.get(trigger.date)
        ):
            starts.append((f"{name}:{on}", on))
        if rule.exempt is not None:  # the tests around the journey are on file: nothing more is asked
            starts = [(key, on) for key, on in starts if not exempted(rule.exempt, on, facts.samples)]
        # Exposures name their rule: a gathering's, or one an official assigned by hand (any rule they may).
        starts += [(f"{name}:{e.key}", e.on) for e in facts.exposures if e.rule == name]
        for key, start in dict(starts).items():  # two records of one trip are one trigger
            found += from_today(chain(name, rule, key, start), today)
    return found


def from_today(parts: list[Requirement], today: date) -> list[Requirement]:
    """The parts of a chain that still run on ``today``. A person found late (the record came after the
    day) would silently lose the test days already past: the first part still running gets a test today
    instead (抵达后第一时间核酸)."""
    running = [r for r in parts if r.ends_on >= today]
    if running and any(d < today for r in parts for d in r.test_days):
        first = running[0]
        running[0] = replace(first, test_days=tuple(sorted({today, *first.test_days})))
    return running


# --- merging with what is already assigned ---------------------------------------------


@dataclass(frozen=True)
class Assigned:
    """A measure already on the person."""

    id: uuid.UUID
    kind: str
    rule: str
    starts_on: date
    ends_on: date
    status: str  # scheduled | active | released | completed
    test_days: tuple[date, ...] = ()


@dataclass(frozen=True)
class Change:
    """Create a measure (``measure_id`` None) or extend one; ``triggers`` are recorded as served."""

    measure_id: uuid.UUID | None
    kind: str
    rule: str
    starts_on: date
    ends_on: date
    test_days: tuple[date, ...]
    triggers: tuple[str, ...]
    changed: bool = True  # False: the triggers fall inside the measure as it is; only record them


def plan_assignment(
    required: list[Requirement], assigned: list[Assigned], served: set[tuple[str, str]], today: date,
    served_by: Mapping[tuple[str, str], uuid.UUID] | None = None,
) -> list[Change]:
    """Turn requirements into changes, idempotently.

    - A (trigger, kind) already served (even if since released) is never assigned again; while the
      measure that serves it is open (``served_by`` names it), a longer chain or new test days of
      the same trigger (the policy changed) extend that measure.
    - A requirement that overlaps or abuts an open measure of its kind extends it: the
      latest end wins and an end never shrinks (填平补齐: the part already served counts).
    - Otherwise it becomes a new measure.
    """
    episodes: list[dict] = [
        {"id": a.id, "kind": a.kind, "rule": a.rule, "starts_on": a.starts_on, "ends_on": a.ends_on,
         "test_days": set(a.test_days), "triggers": [], "changed": False}
        for a in assigned
        if a.status in ("scheduled", "active")
    ]
    by_id = {e["id"]: e for e in episodes}
    for (trigger, kind), req in {(r.trigger, r.kind): r for r in required if (r.trigger, r.kind) in served}.items():
        episode = by_id.get((served_by or {}).get((trigger, kind)))
        if episode is None or episode["kind"] != kind:
            continue  # served, and its measure is over or released: never again
        if req.ends_on > episode["ends_on"]:
            episode["ends_on"], episode["changed"] = req.ends_on, True
        # Later days only: a served chain's catch-up test of today (from_today) was asked when it was assigned.
        if new_days := {d for d in req.test_days if d > today} - episode["test_days"]:
            episode["test_days"] |= new_days
            episode["changed"] = True
    pending = list({(r.trigger, r.kind): r for r in required if (r.trigger, r.kind) not in served}.values())
    for req in sorted(pending, key=lambda r: (r.kind, r.starts_on, r.ends_on, r.trigger)):
        episode = next((e for e in episodes if e["kind"] == req.kind and _touches(e, req)), None)
        if episode is None:
            episode = {"id": None, "kind": req.kind, "rule": req.rule, "starts_on": req.starts_on,
                       "ends_on": req.ends_on, "test_days": set(), "triggers": [], "changed": True}
            episodes.append(episode)
        if req.ends_on > episode["ends_on"]:
            episode["ends_on"], episode["rule"], episode["changed"] = req.ends_on, req.rule, True
        if req.starts_on < episode["starts_on"]:
            episode["starts_on"], episode["changed"] = req.starts_on, True
        new_days = {d for d in req.test_days if d >= today} - episode["test_days"]
        if new_days:
            episode["test_days"] |= new_days
            episode["changed"] = True
        episode["triggers"].append(req.trigger)
    return [
        Change(e["id"], e["kind"], e["rule"], e["starts_on"], e["ends_on"], tuple(sorted(e["test_days"])), tuple(e["triggers"]), e["changed"])
        for e in episodes
        if e["triggers"] or e["changed"]
    ]


def _touches(episode: dict, req: Requirement) -> bool:
    """Overlapping or end to end: one measure, not two."""
    return req.starts_on <= plus(episode["ends_on"], 1) and req.ends_on >= plus(episode["starts_on"], -1)
