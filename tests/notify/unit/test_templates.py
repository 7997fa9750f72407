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
    due = {"due_on": "3月2日", "where": "x"}
    assert render("test_due", "fr", due) == render("test_due", "zh", due)


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
LEAD_OVERDUE = registry.LeadOverdue(
    lead_id=uuid.uuid4(), region_code="320413100201", source="travel_record", due_at=NOW, phone_masked="138****0000",
    reasons=[registry.LeadReason(rule="high_risk_travel", detail="420106 2022-02-27~2022-02-28"),
             registry.LeadReason(rule="assist_request", detail="武汉协查")], county_code="320413",
)
CASE = {"case_id": uuid.uuid4(), "person_id": PERSON, "region_code": "320413001", "county_code": "320413",
        "classification": "confirmed", "status": "open", "reviewed_at": NOW, "hospital": "常州市第三人民医院", "by": "official-1"}

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
    "pool_positive_alert": lambda lang: facts.pool_positive(_result("pool_positive"), region_code="320413", person="张*"),
    "retest_overdue": lambda lang: facts.pool_positive(testing.RetestOverdue(
        sample_id=uuid.uuid4(), id_number_index="i", collected_at=NOW, retest_due_by=NOW + timedelta(hours=12)),
        region_code="320413", person="张*"),
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
    "lead_overdue": lambda lang: facts.lead_overdue(LEAD_OVERDUE, POLICY, ack_minutes=30),
    "lead_overdue_escalated": lambda lang: {**facts.lead_overdue(LEAD_OVERDUE, POLICY, ack_minutes=30), "level": 1},
    "case_confirmed": lambda lang: facts.case(registry.CaseConfirmed(**CASE), lang, person="张*"),
    "case_discharged": lambda lang: facts.case(registry.CaseDischarged(**CASE | {"status": "discharged", "discharged_on": date(2022, 3, 20)}), lang, person="张*"),
    "case_withdrawn": lambda lang: facts.case(registry.CaseWithdrawn(**CASE | {"status": "withdrawn", "hospital": None}), lang, person=""),
    "release_blocked": lambda lang: facts.release_blocked(registry.MeasureReleaseBlocked(
        **_measure().model_dump(exclude={"status", "release_blocked"}), status="active", release_blocked="negative_test_missing", notify=["grid-1"]), lang, person="张*"),
}


def test_a_case_names_its_hospital_or_says_it_is_to_be_named():
    assert "常州市第三人民医院" in render("case_confirmed", "zh", facts.case(registry.CaseConfirmed(**CASE), "zh", person="张*"))[1]
    body = render("case_confirmed", "zh", facts.case(registry.CaseConfirmed(**CASE | {"hospital": None}), "zh", person="张*"))[1]
    assert "定点医院待定" in body and "确诊病例" in body


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
    assert zh == "因中风险地区旅居史，您需自3月1日起居家健康监测，至3月7日止。请于3月2日、3月7日进行核酸检测。"
    assert en == ("Because of Travel in a medium-risk area, you are under home health monitoring from 2022-03-01 until "
                  "2022-03-07. Tests are due on 2022-03-02, 2022-03-07.")
    late = datetime(2022, 3, 1, 17, 0, tzinfo=UTC)  # 01:00 on 2 March in Shanghai
    assert facts.day(late) == "2022-03-02" and facts.day(late, "zh") == "3月2日"


def _zh(kind, made):
    return render(kind, "zh", made)


def test_what_a_resident_reads_is_a_sentence_they_understand():
    """The texts in full: no rule key (根据“manual”), no nested quotes, no 阳性 before the CDC review, no sampling
    site for a person under quarantine."""
    by_hand = registry.MeasureAssigned(**{**_measure().model_dump(), "rule": "manual", "kind": "home_quarantine", "test_days": []})
    assert _zh("measure_assigned", facts.measure(by_hand, "zh", POLICY)) == (
        "管控措施：居家隔离", "因防控工作需要，您需自3月1日起居家隔离，至3月7日止。")
    inbound = registry.MeasureAssigned(**{**_measure().model_dump(), "rule": "inbound", "kind": "centralized_quarantine",
                                          "ends_on": date(2022, 3, 14), "test_days": [date(2022, 3, 1), date(2022, 3, 14)]})
    assert _zh("measure_assigned", facts.measure(inbound, "zh", POLICY))[1] == (
        "因入境人员“14+7+7”，您需自3月1日起集中隔离，至3月14日止。请于3月1日、3月14日进行核酸检测。")
    staff = _zh("staff_measure_assigned", facts.measure(by_hand, "zh", POLICY, person="张*"))[1]
    assert staff == "张*（320413）因防控工作需要，自3月1日起居家隔离，至3月7日止。请落实“五包一”管控。"
    assert _zh("result_positive", facts.result(_result("positive"), "zh")) == (
        "核酸检测结果异常",
        "您于3月1日采集的核酸样本（条码B1）检测结果异常。请原地等待并配合工作人员，不要外出，工作人员将尽快与您联系。")
    assert _zh("result_pool_positive", facts.result(_result("pool_positive"), "zh"))[1] == (
        "您于3月1日参加的混采检测结果异常。请居家等待，工作人员将上门为您单管复检，请在3月1日21:30前完成。")
    at_door = testing.ScheduleDue(**SCHEDULE, at_door=True)
    assert _zh("test_due", facts.schedule(at_door, "zh"))[1] == "您今天（3月2日）需进行核酸检测。工作人员将上门采样，请在家等候，不要外出。"
    at_work = testing.ScheduleDue(**SCHEDULE, tag="high_risk_post")
    assert _zh("test_due", facts.schedule(at_work, "zh"))[1] == "您今天（3月2日）需进行核酸检测。请就近前往采样点，采样时请佩戴口罩、保持间距。"
    changed = registry.HealthCodeChanged(person_id=PERSON, region_code="320413", color="red", previous="green", reasons=[
        registry.Reason(rule="high_risk_travel", detail="高风险地区旅居史，集中隔离至3月28日", until=date(2022, 3, 28))])
    assert _zh("healthcode_changed", facts.healthcode(changed, "zh", POLICY))[1] == (
        "您的健康码由绿码变为红码，原因：高风险地区旅居史，集中隔离至3月28日。")
    for kind, make in CASES.items():
        title, body = render(kind, "zh", make("zh"))
        assert "manual" not in title + body and quotes_flat(title + body), kind


def quotes_flat(text: str) -> bool:
    """Every “ is closed before the next opens: no 根据“入境人员“14+7+7””."""
    depth = 0
    for char in text:
        depth += {"“": 1, "”": -1}.get(char, 0)
        if depth not in (0, 1):
            return False
    return depth == 0


def test_quotes_flat_catches_nesting():
    assert quotes_flat("请落实“五包一”管控") and not quotes_flat("根据“入境人员“14+7+7””")


def test_accountability_notices_name_duties_slots_and_china_time():
    zh = render("staff_assigned", "zh", facts.staff_assigned(_assigned(), "zh", person="张*", duties=["grid_worker", "doctor"]))[1]
    assert "张*" in zh and "包保网格员、包保医生" in zh
    en = render("staff_missing", "en", facts.staff_missing(_assigned(["doctor"]), "en", person="张*"))[1]
    assert "has no doctor" in en
    missed = render("followup_missed", "zh", facts.follow_up(registry.FollowUpMissed(**FOLLOW_UP), "zh", person="张*"))[1]
    assert "晚间" in missed and "2022-03-01 20:00" in missed  # 12:00 UTC is 20:00 in Shanghai
    reminder = render("report_reminder", "en", facts.report(registry.ReportReminded(**REPORT), "en"))[1]
    assert "2022-03-01 14:00 (China time)" in reminder and "320413" in reminder


def test_an_overdue_lead_names_who_why_and_by_when_in_words():
    title, body = render("lead_overdue", "zh", facts.lead_overdue(LEAD_OVERDUE, POLICY, ack_minutes=30))
    assert "320413100201" in title
    assert "138****0000" in body and POLICY.title("high_risk_travel", "zh") in body and "外地协查" in body
    assert "未指派" in body and "30分钟" in body


def test_staff_texts_name_the_place_not_its_code():
    body = render("test_overdue", "zh", facts.schedule(testing.ScheduleOverdue(**SCHEDULE), "zh", person="张*",
                                                       place="东城街道西门社区"))[1]
    assert "东城街道西门社区" in body and "320413" not in body
    title, body = render("lead_overdue", "zh", facts.lead_overdue(LEAD_OVERDUE, POLICY, ack_minutes=30, place="东城街道西门社区"))
    assert "东城街道西门社区" in title + body and "320413" not in title + body
