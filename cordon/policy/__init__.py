"""The policy document: every duration, test day, threshold and colour rule, as validated data.

The registry owns the active policy (PUT /policies/active) and publishes it as
``registry.policy.changed``; the other services keep the latest copy and start
from this same default until one arrives.
"""

from __future__ import annotations

from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

MeasureKind = Literal["centralized_quarantine", "home_quarantine", "home_health_monitoring", "daily_health_monitoring"]
GATHERING_KINDS = ("meeting", "banquet", "wedding", "funeral", "family", "performance", "sports", "fair", "training", "other")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Title(_Strict):
    zh: str
    en: str


# The dates a person's facts carry, which a rule may start from (trigger ``tag`` or ``date``): the entry date
# of an inbound arrival, and a case's review and discharge.
DATE_FACTS = ("entry_date", "case_confirmed_on", "discharged_on")


class Trigger(_Strict):
    """What starts a rule's chain.

    ``travel``: a record inside a risk area of ``level``; ``county_travel`` / ``city_travel`` /
    ``province_travel``: a record in a county, a city or a province with local cases (one holding an area of
    ``levels``, or reporting local cases); ``tag``: a tagged person, from their ``date`` fact; ``date``: any
    person with that date fact; ``manual``: an official's decision (an exposure date); ``gathering_exposure``:
    a gathering with a positive attendee.
    """

    type: Literal[
        "travel", "county_travel", "city_travel", "province_travel", "tag", "date", "manual", "gathering_exposure"
    ]
    level: Literal["high", "medium"] | None = None
    levels: list[Literal["high", "medium"]] = []
    tag: str | None = None
    date: str | None = None  # the person's date fact that starts the chain (DATE_FACTS), for a tag or date trigger

    @model_validator(mode="after")
    def _complete(self) -> Trigger:
        if self.type == "travel" and self.level is None:
            raise ValueError("a travel trigger needs a level")
        if self.type in ("county_travel", "city_travel", "province_travel") and not self.levels:
            raise ValueError(f"a {self.type} trigger needs levels")
        if self.type == "tag" and not (self.tag and self.date):
            raise ValueError("a tag trigger needs a tag and a date field")
        if self.type == "date" and not self.date:
            raise ValueError("a date trigger needs a date field")
        if self.date is not None and self.date not in DATE_FACTS:
            raise ValueError(f"unknown date fact {self.date!r}: one of {', '.join(DATE_FACTS)}")
        return self


class ReleaseTests(_Strict):
    """隔离期满核酸检测阴性方可解除: the measure ends only once ``negatives`` negative samples, collected in its
    last ``within_days`` days or after it ended, are on file; until then it stays active, release blocked."""

    negatives: int = Field(ge=1, le=5)
    within_days: int = Field(default=2, ge=1, le=30)


class MeasureStep(_Strict):
    kind: MeasureKind
    days: int = Field(gt=0, le=365)
    release: ReleaseTests | None = None


class Exemption(_Strict):
    """No measure when a negative collected within ``proof_before_hours`` before leaving is on file and a test was
    taken within ``arrival_test_hours`` of arriving (records carry the day of leaving only: the departure is
    taken as the end of that day, the arrival as that day); a measure already assigned is lifted once both are."""

    proof_before_hours: int = Field(ge=1, le=240)
    arrival_test_hours: int = Field(ge=1, le=240)


class TestDay(_Strict):
    """Day ``day`` (1-based, or 'last') of measure ``measure`` in the chain; or ``after_chain`` days after it ends."""

    measure: MeasureKind | None = None
    day: int | Literal["last"] | None = None
    after_chain: int | None = Field(default=None, ge=1, le=365)
    # The people living with the person (same address in the same village) are tested that day too ("4+1").
    household: bool = False

    @model_validator(mode="after")
    def _one_form(self) -> TestDay:
        if (self.after_chain is None) == (self.measure is None or self.day is None):
            raise ValueError("a test day is either {measure, day} or {after_chain}")
        return self


class Rule(_Strict):
    title: Title
    trigger: Trigger
    measures: list[MeasureStep] = Field(min_length=1)
    tests: list[TestDay] = []
    # Whether an official may assign the rule by hand (POST /persons/{id}/measures with an exposure date);
    # left out: the rules an official's decision triggers (``manual``).
    assignable: bool | None = None
    exempt: Exemption | None = None

    @property
    def by_hand(self) -> bool:
        return self.assignable if self.assignable is not None else self.trigger.type == "manual"

    @model_validator(mode="after")
    def _tests_fit_measures(self) -> Rule:
        steps = {step.kind: step.days for step in self.measures}
        if len(steps) != len(self.measures):
            raise ValueError("a measure kind appears twice in one chain")
        for test in self.tests:
            if test.measure is None:
                continue
            if test.measure not in steps:
                raise ValueError(f"test day names {test.measure}, which is not in the chain")
            if isinstance(test.day, int) and not 1 <= test.day <= steps[test.measure]:
                raise ValueError(f"test day {test.day} is outside {test.measure} ({steps[test.measure]} days)")
        for step in self.measures:
            if step.release and step.release.within_days > step.days:
                raise ValueError(f"{step.kind}: release tests within {step.release.within_days} days of a {step.days}-day measure")
        if self.exempt is not None and self.trigger.type not in ("travel", "county_travel", "city_travel", "province_travel"):
            raise ValueError("only a travel rule can be exempted by tests around the journey")
        return self


class HealthCodeRules(_Strict):
    red: list[str]
    yellow: list[str]


class Slot(_Strict):
    name: str
    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> Slot:
        if self.end <= self.start:
            raise ValueError(f"slot {self.name} ends before it starts")
        return self


class FollowUps(_Strict):
    fever_celsius: float = Field(ge=35, le=42)
    per_day: int = Field(ge=0, le=6)
    slots: list[Slot]
    escalate_after_minutes: int = Field(gt=0)
    kinds: list[MeasureKind]


class PeriodicTest(_Strict):
    """A recurring test of everyone tagged ``tag``, while the tag holds: every ``every_days`` days from the day
    the tag was set, or on the ``weekdays`` named (1 = Monday ... 7 = Sunday: twice a week is two of them)."""

    tag: str = Field(min_length=1, max_length=40)
    every_days: int | None = Field(default=None, ge=1, le=60)
    weekdays: list[int] = []

    @model_validator(mode="after")
    def _one_form(self) -> PeriodicTest:
        if (self.every_days is None) == (not self.weekdays):
            raise ValueError("a periodic test has either every_days or weekdays")
        if any(not 1 <= d <= 7 for d in self.weekdays) or len(set(self.weekdays)) != len(self.weekdays):
            raise ValueError("weekdays are distinct numbers 1 (Monday) to 7 (Sunday)")
        return self


class Testing(_Strict):
    pool_max: int = Field(ge=1, le=50)
    retest_within_hours: int = Field(gt=0)
    overdue_after_days: int = Field(ge=1)
    # Measures under which a person is sampled where they are (at the door, in the quarantine site), never
    # sent to a sampling site.
    sampled_in_place: list[MeasureKind] = ["centralized_quarantine", "home_quarantine"]
    periodic: list[PeriodicTest] = []

    @model_validator(mode="after")
    def _one_per_tag(self) -> Testing:
        if len({p.tag for p in self.periodic}) != len(self.periodic):
            raise ValueError("one periodic test per tag")
        return self


class Gatherings(_Strict):
    prohibited_from: int = Field(gt=0)
    suspended_kinds: list[Literal[GATHERING_KINDS]] = []  # type: ignore[valid-type]
    approval_from: int = Field(gt=0)
    filing_tables_from: int = Field(gt=0)
    filing_kinds: list[Literal[GATHERING_KINDS]] = []  # type: ignore[valid-type]
    family_warning_over: int = Field(gt=0)
    exposure_window_days: int = Field(gt=0, le=30)

    @model_validator(mode="after")
    def _ordered(self) -> Gatherings:
        if self.approval_from >= self.prohibited_from:
            raise ValueError("approval_from must be below prohibited_from")
        return self


class QuietHours(_Strict):
    """No SMS or WeChat message to a person between ``start`` and ``end`` (local time); held until ``end``.

    Alerts to staff always pass, and so do the kinds in ``exempt_kinds`` (a login code asked for now).
    """

    start: time = time(22, 0)
    end: time = time(7, 0)
    exempt_kinds: list[str] = ["login_code"]


class WechatTemplate(_Strict):
    """A subscription-message template: its id, and which part of the message fills each data key."""

    template_id: str = Field(min_length=1)
    fields: dict[str, Literal["title", "content", "code"]] = Field(min_length=1)


class Notifications(_Strict):
    alert_ack_minutes: int = Field(gt=0)
    collapse_window_minutes: int = Field(ge=0)
    quiet_hours: QuietHours = QuietHours()
    # SMS and WeChat messages one person receives in a day at most (login codes and staff alerts aside).
    daily_cap: int = Field(default=10, ge=1)
    # Each notification kind's approved template, per SMS provider: {provider: {kind: template code}}.
    sms_templates: dict[Literal["aliyun", "tencent"], dict[str, str]] = {}
    # Kinds a resident with a bound WeChat receives as a subscription message instead of an SMS.
    wechat_templates: dict[str, WechatTemplate] = {}


class DailyReports(_Strict):
    deadline: time
    remind_before_minutes: int = Field(ge=0)


class Rosters(_Strict):
    """The duties a roster names and a controlled person's responsible staff fill (五包一; 四包一 or 六包一 elsewhere)."""

    duties: list[str] = Field(
        default=["township_cadre", "village_cadre", "doctor", "police", "grid_worker"], min_length=1, max_length=12
    )

    @model_validator(mode="after")
    def _unique(self) -> Rosters:
        if len(set(self.duties)) != len(self.duties) or not all(d.isidentifier() and len(d) <= 40 for d in self.duties):
            raise ValueError("duties must be distinct snake_case names")
        return self


class Leads(_Strict):
    """Big-data leads (大数据推送排查): how long the local village has to find the person (当日排查到位)."""

    due_hours: int = Field(default=24, gt=0, le=24 * 14)


class Policy(_Strict):
    name: str
    timezone: str = "Asia/Shanghai"
    travel_window_days: int = Field(gt=0, le=60)
    rules: dict[str, Rule]
    health_code: HealthCodeRules
    follow_ups: FollowUps
    testing: Testing
    gatherings: Gatherings
    notifications: Notifications
    daily_reports: DailyReports
    rosters: Rosters = Rosters()  # absent from documents older than it: the five duties
    leads: Leads = Leads()  # absent from documents older than it: 24 hours

    @model_validator(mode="after")
    def _known_conditions(self) -> Policy:
        known = {"case", "positive", "pool_positive", "test_overdue", "fever"}
        kinds = {"measure:" + k for k in MeasureKind.__args__}
        for condition in [*self.health_code.red, *self.health_code.yellow]:
            if condition not in known | kinds:
                raise ValueError(f"unknown health-code condition {condition!r}")
        return self

    def assignable(self) -> list[str]:
        """The rules an official may assign by hand."""
        return [name for name, rule in self.rules.items() if rule.by_hand]

    def title(self, rule: str, language: str = "zh") -> str:
        found = self.rules.get(rule)
        return getattr(found.title, language if language in ("zh", "en") else "zh") if found else rule


DEFAULT_PATH = Path(__file__).with_name("default.yaml")


def parse_yaml(text: str) -> Policy:
    """Validate a YAML policy document (raises ValueError or pydantic.ValidationError)."""
    document = yaml.safe_load(text)
    if not isinstance(document, dict):
        raise ValueError("the policy must be a YAML mapping")
    return Policy.model_validate(document)


@lru_cache(maxsize=1)
def default() -> Policy:
    return parse_yaml(DEFAULT_PATH.read_text(encoding="utf-8"))
