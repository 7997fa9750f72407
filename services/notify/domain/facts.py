"""The facts each event puts into its template, in the reader's language (dates in China Standard Time)."""

from __future__ import annotations

from datetime import date, datetime

from cordon.clock import CHINA
from cordon.contracts import events, registry, testing
from cordon.policy import Policy
from services.notify.domain.rendering import join, language_of, word
from services.notify.domain.templates import WORDS


def day(value: date | datetime, language: str | None = None) -> str:
    """A China-time day: as a person writes it in Chinese (3月28日), ISO otherwise."""
    on = value.astimezone(CHINA).date() if isinstance(value, datetime) else value
    return f"{on.month}月{on.day}日" if language == "zh" else on.isoformat()


def minute(value: datetime, language: str | None = None) -> str:
    local = value.astimezone(CHINA)
    return f"{local.month}月{local.day}日{local:%H:%M}" if language == "zh" else local.strftime("%Y-%m-%d %H:%M")


def clock(value: datetime) -> str:
    return value.astimezone(CHINA).strftime("%H:%M")


def result(event: testing.ResultRecorded, language: str) -> dict:
    return {
        "collected_on": day(event.collected_at, language),
        "barcode": event.barcode,
        "retest_due_by": minute(event.retest_due_by, language) if event.retest_due_by else "—",
    }


def positive_alert(event: testing.ResultRecorded, *, region_code: str, person: str, ack_minutes: int, place: str = "") -> dict:
    return {
        "region_code": region_code,
        "place": place or region_code,
        "person": person or "—",
        "collected_at": minute(event.collected_at),
        "lab": event.lab,
        "ack_minutes": ack_minutes,
    }


def pool_positive(event: testing.ResultRecorded | testing.RetestOverdue, *, region_code: str, person: str, place: str = "") -> dict:
    """For the staff of a pool-positive person: whom, when sampled, the retest deadline (China time)."""
    return {
        "region_code": region_code,
        "place": place or region_code,
        "person": person or "—",
        "collected_at": minute(event.collected_at),
        "retest_due_by": minute(event.retest_due_by) if event.retest_due_by else "—",
    }


def healthcode(event: registry.HealthCodeChanged, language: str, policy: Policy) -> dict:
    reasons = []
    for reason in event.reasons:
        if language == "zh" and reason.detail:
            reasons.append(reason.detail)  # the registry writes it as a person would (高风险地区旅居史，集中隔离至3月28日)
            continue
        reasons.append(rule_words(reason.rule, language, policy) + (f" (until {day(reason.until)})" if reason.until else ""))
    return {
        "color": word("color", event.color, language),
        "previous": word("color", event.previous or "none", language),
        "reasons": join(reasons, language),
    }


def rule_words(rule: str, language: str, policy: Policy) -> str:
    """A rule as a person says it: its title in the policy; a measure set by hand never by its key."""
    return policy.title(rule, language) if rule in policy.rules else word("rule", rule, language)


def measure(event: registry.MeasureAssigned, language: str, policy: Policy, *, person: str = "", place: str = "") -> dict:
    tests = WORDS["tests"][language_of(language)]
    return {
        "rule": rule_words(event.rule, language, policy),
        "measure": word("measure", event.kind, language),
        "starts_on": day(event.starts_on, language),
        "ends_on": day(event.ends_on, language),
        "tests": tests["some"].format(days=join([day(d, language) for d in event.test_days], language))
        if event.test_days else tests["none"],
        "person": person or "—",
        "region_code": event.region_code,
        "place": place or event.region_code,
    }


def schedule(event: testing.ScheduleDue | testing.ScheduleOverdue, language: str, *, person: str = "", place: str = "") -> dict:
    """Under quarantine a person is sampled at the door; everyone else goes to a sampling site."""
    where = "door" if event.at_door else "site"
    return {"due_on": day(event.due_on, language), "where": word("where", where, language), "person": person or "—",
            "region_code": event.region_code, "place": place or event.region_code}


def gathering(event: events.GatheringFacts, language: str) -> dict:
    return {"title": event.title, "starts_at": minute(event.starts_at), "reason": event.reason or ""}


def exposure(event: events.ExposureDetected, language: str) -> dict:
    return {"title": event.title, "gathering_on": day(event.gathering_on, language)}


def login_code(expires_at: datetime, code: str = "******") -> dict:
    """The code itself is filled in only at send time; what is stored shows it masked."""
    return {"code": code, "expires_at": clock(expires_at)}


def staff_assigned(event: registry.StaffAssigned, language: str, *, person: str, duties: list[str], place: str = "") -> dict:
    """For one of the five: which person, and which of their duties this reader holds."""
    return {
        "person": person or "—",
        "place": place or event.region_code,
        "duty": join([word("duty", d, language) for d in duties], language),
    }


def staff_missing(event: registry.StaffAssigned, language: str, *, person: str, place: str = "") -> dict:
    return {
        "person": person or "—",
        "place": place or event.region_code,
        "duties": join([word("duty", d, language) for d in event.missing], language),
    }


def follow_up(event: registry.FollowUpFacts, language: str, *, person: str, place: str = "") -> dict:
    return {
        "person": person or "—",
        "place": place or event.region_code,
        "on": day(event.on),
        "slot": word("slot", event.slot, language),
        "due_by": minute(event.due_by),
    }


def report(event: registry.ReportFacts, language: str, *, place: str = "") -> dict:
    return {"place": place or event.region_code, "on": day(event.on), "deadline_at": minute(event.deadline_at)}


def lead_overdue(event: registry.LeadOverdue, policy: Policy, *, ack_minutes: int, place: str = "") -> dict:
    """Who (masked), why, by when, where: enough for the county to call the village."""
    titles = {"assist_request": "外地协查"}
    reasons = join(list(dict.fromkeys(titles.get(r.rule) or policy.title(r.rule, "zh") for r in event.reasons))[:3], "zh")
    return {
        "region_code": event.region_code or "—",
        "place": place or event.region_code or "—",
        "person": event.name_masked or event.phone_masked or event.id_number_masked or "—",
        "reasons": reasons,
        "due_at": minute(event.due_at),
        "assignee": event.assignee or "未指派",
        "ack_minutes": ack_minutes,
    }


def case(event: registry.CaseFacts, language: str, *, person: str, place: str = "") -> dict:
    hospital = word("hospital", "named" if event.hospital else "none", language).replace("{hospital}", event.hospital or "")
    return {
        "person": person or "—",
        "place": place or event.region_code,
        "classification": word("classification", event.classification, language),
        "reviewed_at": minute(event.reviewed_at),
        "hospital": hospital,
        "discharged_on": day(event.discharged_on) if event.discharged_on else "—",
    }


def release_blocked(event: registry.MeasureReleaseBlocked, language: str, *, person: str, place: str = "") -> dict:
    return {
        "person": person or "—",
        "place": place or event.region_code,
        "measure": word("measure", event.kind, language),
        "ends_on": day(event.ends_on),
    }
