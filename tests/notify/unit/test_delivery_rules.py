"""Provider answers -> sent / retry / give up; the retry schedule; the collapse window; who is told."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.notify.domain import collapse, delivery, recipients

NOW = datetime(2022, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize("status,verdict", [
    (200, "sent"), (201, "sent"), (202, "sent"), (204, "sent"),
    (429, "retry"), (500, "retry"), (502, "retry"), (503, "retry"), (504, "retry"),
    (400, "give_up"), (401, "give_up"), (403, "give_up"), (404, "give_up"), (410, "give_up"), (422, "give_up"),
])
def test_status_mapping(status, verdict):
    assert delivery.from_status(status).verdict == verdict


def test_give_up_keeps_the_reason():
    assert delivery.from_status(400, "invalid phone").reason == "http 400: invalid phone"


def test_a_wechat_message_that_cannot_reach_the_person_falls_back_to_sms_and_nothing_else_does():
    unreachable = delivery.Outcome("give_up", "unreachable: wechat: errcode 43101", unreachable=True)
    args = dict(attempts=1, max_attempts=5, now=NOW, base_s=1, cap_s=60, rand=0.5)
    assert delivery.after_attempt(unreachable, channel="wechat", **args).fallback == "sms"
    assert delivery.after_attempt(unreachable, channel="sms", **args).fallback is None  # SMS has nothing behind it
    assert delivery.after_attempt(delivery.Outcome("give_up", "bad template"), channel="wechat", **args).fallback is None
    assert delivery.after_attempt(delivery.Outcome("retry", "busy"), channel="wechat", **args).fallback is None


@given(attempt=st.integers(1, 40), rand=st.floats(0, 0.999999))
def test_backoff_is_full_jitter_under_an_exponential_ceiling(attempt, rand):
    delay = delivery.backoff_s(attempt, base_s=2, cap_s=300, rand=rand)
    assert 0 <= delay <= min(300, 2 * 2 ** (attempt - 1))


def test_backoff_ceiling_doubles_then_caps():
    ceilings = [delivery.backoff_s(a, base_s=2, cap_s=60, rand=0.999999) for a in range(1, 8)]
    assert [round(c) for c in ceilings] == [2, 4, 8, 16, 32, 60, 60]


def test_retry_then_failed_after_the_maximum():
    kw = dict(max_attempts=3, now=NOW, base_s=1, cap_s=10, rand=0.5)
    first = delivery.after_attempt(delivery.retry("timeout"), attempts=1, **kw)
    assert first.status == "queued" and first.next_attempt_at == NOW + timedelta(seconds=0.5)
    last = delivery.after_attempt(delivery.retry("timeout"), attempts=3, **kw)
    assert last.status == "failed" and "3 attempts" in last.reason and "timeout" in last.reason
    assert delivery.after_attempt(delivery.from_status(404), attempts=1, **kw).status == "failed"
    assert delivery.after_attempt(delivery.SENT, attempts=3, **kw).status == "sent"


WINDOW = timedelta(minutes=10)


def latest(minutes_ago, status="queued", attempts=0, channel="sms"):
    return collapse.Latest(NOW - timedelta(minutes=minutes_ago), status, attempts, channel)


def test_collapse_folds_into_an_unsent_notice_inside_the_window():
    assert collapse.decide(kind="test_overdue", urgent=False, now=NOW, window=WINDOW, latest=latest(3)) == collapse.Fold()


def test_collapse_waits_for_the_window_when_the_last_one_went_out():
    decision = collapse.decide(kind="test_overdue", urgent=False, now=NOW, window=WINDOW, latest=latest(3, "sent", 1))
    assert decision == collapse.New(NOW + timedelta(minutes=7))


def test_collapse_outside_the_window_or_first_is_new_now():
    assert collapse.decide(kind="test_overdue", urgent=False, now=NOW, window=WINDOW, latest=latest(10)) == collapse.New(NOW)
    assert collapse.decide(kind="test_overdue", urgent=False, now=NOW, window=WINDOW, latest=None) == collapse.New(NOW)
    assert collapse.decide(kind="test_overdue", urgent=False, now=NOW, window=timedelta(0), latest=latest(1)) == collapse.New(NOW)


@pytest.mark.parametrize("kind", sorted(collapse.ACT_ON | collapse.NEVER_COLLAPSE))
def test_what_a_person_must_act_on_never_folds(kind):
    for last in (latest(1), latest(1, "sent", 0, "inbox")):
        assert collapse.decide(kind=kind, urgent=False, now=NOW, window=WINDOW, latest=last) == collapse.New(NOW)


def test_inbox_folds_while_unread():
    assert collapse.decide(kind="x", urgent=False, now=NOW, window=WINDOW, latest=latest(1, "sent", 0, "inbox")) == collapse.Fold()
    assert collapse.decide(kind="x", urgent=False, now=NOW, window=WINDOW, latest=latest(1, "read", 0, "inbox")) == collapse.New(NOW)


@pytest.mark.parametrize("kind,urgent", [("positive_alert", True), ("login_code", False), ("other", True)])
def test_urgent_alerts_and_login_codes_never_collapse(kind, urgent):
    assert collapse.decide(kind=kind, urgent=urgent, now=NOW, window=WINDOW, latest=latest(1)) == collapse.New(NOW)


S = recipients.Staff
STAFF = [
    S("o-county", "official", ("320413",)), S("o-city", "official", ("320400",)), S("o-prov", "official", ("320000",)),
    S("g-county", "grid_worker", ("320413",)), S("o-other", "official", ("320412",)), S("root", "admin", ()),
]


def test_alert_tiers_go_up_the_regions_then_to_admins():
    tiers = recipients.alert_tiers(STAFF, "320413")
    assert [(t.region_code, [s.username for s in t.staff]) for t in tiers] == [
        ("320413", ["o-county"]), ("320400", ["o-city"]), ("320000", ["o-prov"]), (None, ["root"])]


def test_alert_tiers_skip_empty_levels():
    tiers = recipients.alert_tiers([s for s in STAFF if s.username != "o-county"], "320413")
    assert [t.region_code for t in tiers] == ["320400", "320000", None]


def test_region_staff_are_those_whose_regions_contain_it():
    assert [s.username for s in recipients.working_in(STAFF, "320413")] == ["g-county", "o-city", "o-county", "o-prov"]


def test_person_without_phone_gets_no_sms():
    person = recipients.Person(uuid.uuid4(), "320413")
    assert [p.channel for p in recipients.to_person("result_positive", person, {})] == ["inbox"]
    with_phone = recipients.Person(uuid.uuid4(), "320413", phone_enc="enc")
    assert [p.channel for p in recipients.to_person("result_positive", with_phone, {})] == ["inbox", "sms"]


def test_an_attempt_of_unknown_outcome_is_repeated_only_where_repeats_are_dropped():
    kw = dict(attempts=1, max_attempts=6, now=NOW, base_s=1, cap_s=10, rand=0.5)
    for outcome in (delivery.unknown("timeout after 5s"), delivery.INTERRUPTED):
        assert delivery.after_attempt(outcome, repeatable=True, **kw).status == "queued"
        gave_up = delivery.after_attempt(outcome, repeatable=False, **kw)
        assert gave_up.status == "failed" and "at most once" in gave_up.reason
    # Nothing went out (the connection was refused, the provider said 503): tried again through any channel.
    assert delivery.after_attempt(delivery.retry("refused"), repeatable=False, **kw).status == "queued"
    assert delivery.after_attempt(delivery.from_status(503), repeatable=False, **kw).status == "queued"
