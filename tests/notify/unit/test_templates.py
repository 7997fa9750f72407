"""Every template renders in every language with the facts its trigger fills; none names a missing field."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from cordon.contracts import events, registry, testing
from cordon.policy import default
from services.notify.domain import facts, recipients
from services.notify.domain.rendering import MissingFact, collapsed_body, fields, render
from services.notify.domain.templates import EXAMPLES, LANGUAGES, TEMPLATES

NOW = datetime(2022, 3, 1, 1, 30, tzinfo=UTC)
PERSON = uuid.uuid4()


@pytest.mark.parametrize("kind", sorted(TEMPLATES))
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_template_renders_with_its_example_facts(kind, language):
    title, body = render(kind, language, EXAMPLES[kind])
    assert title and body and "{" not in title + body


@pytest.mark.parametrize("kind", sorted(TEMPLATES))
def test_examples_cover_exactly_the_fields_used(kind):
    assert fields(kind) <= set(EXAMPLES[kind]), "the example facts miss a field the template uses"


@pytest.mark.parametrize("kind", sorted(TEMPLATES))
def test_a_missing_fact_is_an_error_not_a_blank(kind):
    if not fields(kind):
        pytest.skip("no fields")
    missing = sorted(fields(kind))[0]
    with pytest.raises(MissingFact):
        render(kind, "zh", {k: v for k, v in EXAMPLES[kind].items() if k != missing})


def test_every_kind_routed_has_a_template_and_back():
    routed = {k for k in recipients.CHANNELS if k != "healthcode_changed_red"}
    assert routed | {"broadcast"} == set(TEMPLATES)


def test_unknown_language_falls_back_to_chinese():
    assert render("test_due", "fr", {"due_on": "2022-03-02"}) == render("test_due", "zh", {"due_on": "2022-03-02"})


def test_collapsed_body_shows_the_count():
    assert collapsed_body("x", 1, "zh") == "x"
    assert "3" in collapsed_body("x", 3, "zh") and "3 similar" in collapsed_body("x", 3, "en")


# The facts the triggers build from real event payloads fill their templates, in both languages.

def _result(outcome):
    return testing.ResultRecorded(
        sample_id=uuid.uuid4(), barcode="B1", person_id=PERSON, id_number_index="i", region_code="320413", outcome=outcome,
        collected_at=NOW - timedelta(hours=5), tested_at=NOW, lab="lab-1",
        retest_due_by=NOW + timedelta(hours=12) if outcome == "pool_positive" else None,
    )


def _measure():
    return registry.MeasureAssigned(
        measure_id=uuid.uuid4(), person_id=PERSON, region_code="320413", kind="home_health_monitoring",
        rule="medium_risk_travel", starts_on=date(2022, 3, 1), ends_on=date(2022, 3, 7), status="active",
        test_days=[date(2022, 3, 2), date(2022, 3, 7)],
    )


def _gathering(cls, reason=None):
    return cls(gathering_id=uuid.uuid4(), title="婚宴", kind="wedding", region_code="320413", status="approved",
               requirement="approval", starts_at=NOW, ends_at=NOW + timedelta(hours=3), expected_attendees=80, reason=reason)


def _assigned(missing=()):
    staff = {"township_cadre": "zhen-1", "village_cadre": "cun-1", "doctor": None if "doctor" in missing else "doc-1",
             "police": "jing-1", "grid_worker": "grid-1"}
    return registry.StaffAssigned(person_id=PERSON, region_code="320413", roster_region="320413", staff=staff,
                                  missing=list(missing))


FOLLOW_UP = dict(person_id=PERSON, region_code="320413", measure_id=uuid.uuid4(), on=date(2022, 3, 1), slot="evening",
                 due_by=datetime(2022, 3, 1, 12, 0, tzinfo=UTC), notify=["grid-1"])
REPORT = dict(region_code="320413", on=date(2022, 3, 1), deadline_at=datetime(2022, 3, 1, 6, 0, tzinfo=UTC))
POLICY = default()
SCHEDULE = dict(schedule_id=uuid.uuid4(), person_id=PERSON, region_code="320413", measure_id=uuid.uuid4(), due_on=date(2022, 3, 2))
CASES = {
    "result_negative": lambda lang: facts.result(_result("negative"), lang),
    "result_positive": lambda lang: facts.result(_result("positive"), lang),
    "result_pool_positive": lambda lang: facts.result(_result("pool_positive"), lang),
    "result_invalid": lambda lang: facts.result(_result("invalid"), lang),
    "healthcode_changed": lambda lang: facts.healthcode(registry.HealthCodeChanged(
        person_id=PERSON, region_code="320413", color="yellow", previous="green",
        reasons=[registry.Reason(rule="medium_risk_travel", detail="x", until=date(2022, 3, 7))]), lang, POLICY),
    "measure_assigned": lambda lang: facts.measure(_measure(), lang, POLICY),
    "staff_measure_assigned": lambda lang: facts.measure(_measure(), lang, POLICY, person="张*"),
    "test_due": lambda lang: facts.schedule(testing.ScheduleDue(**SCHEDULE), lang),
    "test_overdue": lambda lang: facts.schedule(testing.ScheduleOverdue(**SCHEDULE), lang, person="张*"),
    "gathering_approved": lambda lang: facts.gathering(_gathering(events.GatheringApproved), lang),
    "gathering_rejected": lambda lang: facts.gathering(_gathering(events.GatheringRejected, "too big"), lang),
    "gathering_cancelled": lambda lang: facts.gathering(_gathering(events.GatheringCancelled), lang),
    "exposure": lambda lang: facts.exposure(events.ExposureDetected(
        gathering_id=uuid.uuid4(), title="婚宴", region_code="320413", gathering_on=date(2022, 3, 1),
        positive_id_number_index="p", sample_collected_at=NOW, attendees=[]), lang),
    "login_code": lambda lang: facts.login_code(NOW + timedelta(minutes=5)),
    "positive_alert": lambda lang: facts.positive_alert(_result("positive"), region_code="320413", person="张*", ack_minutes=30),
    "alert_escalated": lambda lang: {**facts.positive_alert(_result("positive"), region_code="320413", person="张*", ack_minutes=30), "level": 1},
    "staff_assigned": lambda lang: facts.staff_assigned(_assigned(), lang, person="张*", duties=["grid_worker"]),
    "staff_missing": lambda lang: facts.staff_missing(_assigned(["doctor"]), lang, person="张*"),
    "followup_missed": lambda lang: facts.follow_up(registry.FollowUpMissed(**FOLLOW_UP), lang, person="张*"),
    "followup_escalated": lambda lang: facts.follow_up(registry.FollowUpEscalated(**FOLLOW_UP), lang, person=""),
    "report_reminder": lambda lang: facts.report(registry.ReportReminded(**REPORT, notify=["grid-1"]), lang),
    "report_missing": lambda lang: facts.report(registry.ReportMissing(**REPORT, parent_region="320400"), lang),
    "broadcast": lambda lang: {"title": "t", "body": "b"},
}


def test_every_template_has_a_trigger_case():
    assert set(CASES) == set(TEMPLATES)


@pytest.mark.parametrize("kind", sorted(CASES))
@pytest.mark.parametrize("language", LANGUAGES)
def test_trigger_facts_fill_their_template(kind, language):
    title, body = render(kind, language, CASES[kind](language))
    assert "{" not in title + body


def test_rule_names_and_dates_are_in_words_and_china_time():
    zh = render("measure_assigned", "zh", facts.measure(_measure(), "zh", POLICY))[1]
    en = render("measure_assigned", "en", facts.measure(_measure(), "en", POLICY))[1]
    assert POLICY.title("medium_risk_travel", "zh") in zh and "居家健康监测" in zh and "2022-03-07" in zh
    assert POLICY.title("medium_risk_travel", "en") in en and "home health monitoring" in en
    late = datetime(2022, 3, 1, 17, 0, tzinfo=UTC)  # 01:00 on 2 March in Shanghai
    assert facts.day(late) == "2022-03-02"


def test_accountability_notices_name_duties_slots_and_china_time():
    zh = render("staff_assigned", "zh", facts.staff_assigned(_assigned(), "zh", person="张*", duties=["grid_worker", "doctor"]))[1]
    assert "张*" in zh and "包保网格员、包保医生" in zh
    en = render("staff_missing", "en", facts.staff_missing(_assigned(["doctor"]), "en", person="张*"))[1]
    assert "has no doctor" in en
    missed = render("followup_missed", "zh", facts.follow_up(registry.FollowUpMissed(**FOLLOW_UP), "zh", person="张*"))[1]
    assert "晚间" in missed and "2022-03-01 20:00" in missed  # 12:00 UTC is 20:00 in Shanghai
    reminder = render("report_reminder", "en", facts.report(registry.ReportReminded(**REPORT), "en"))[1]
    assert "2022-03-01 14:00 (China time)" in reminder and "320413" in reminder
