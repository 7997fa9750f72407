"""Delivery through a real HTTP provider that fails, hangs and succeeds by turns; escalation on a test clock;
broadcasts in the background."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from cordon.clock import utcnow
from cordon.contracts import auth, testing
from services.notify.models import Alert
from services.notify.service import alerts
from tests.notify.integration.conftest import notify_service, projected, provider_stub, publish, stub_deliveries, vault
from tests.notify.integration.people import REGION, person_registered, user_created
from tests.notify.integration.test_triggers import listed, resident
from tests.serving import eventually, settled, stream_events
from tests.tokens import bearer


async def test_every_notification_ends_sent_or_failed_once_through_a_flaky_provider(databases, nats_server, tmp_path):
    async with provider_stub("--hang", "2") as provider, notify_service(
        databases, nats_server.url, tmp_path / "home", sms_provider_url=f"{provider}/sms", delivery_max_attempts=8,
    ) as notify:
        v = vault(notify)
        phones = [f"1391234{i:04d}" for i in range(1, 31)] + ["13900000000"]  # the last one the provider refuses
        events = [auth.SmsCodeRequested(phone_index=v.index("phone", p), phone_enc=v.encrypt(p), code_enc=v.encrypt("111111"),
                                        expires_at=utcnow() + timedelta(minutes=5)) for p in phones]
        await publish(nats_server.url, *events)

        async def all_done():
            items = await listed(notify, kind="login_code")
            return items if len(items) == len(phones) and all(i["status"] in ("sent", "failed") for i in items) else None
        items = await eventually(all_done, timeout=60)
        accepted = (await stub_deliveries(provider))["accepted"]
        for item in items:
            assert accepted.get(item["id"], 0) == (1 if item["status"] == "sent" else 0), item
        refused = [i for i in items if i["last_error"] and "http 400" in i["last_error"]]
        assert len(refused) == 1 and refused[0]["status"] == "failed" and refused[0]["attempts"] == 1
        assert any(i["attempts"] > 1 and i["status"] == "sent" for i in items)  # retried after a 500, 429 or hang
        assert sum(accepted.values()) == sum(1 for i in items if i["status"] == "sent")


async def test_a_dead_sms_provider_does_not_hold_up_the_inbox_or_wechat(databases, nats_server, tmp_path):
    # Nothing listens on the sms provider's port: connection refused, retried, failed; the inbox is untouched.
    async with notify_service(databases, nats_server.url, tmp_path / "home", sms_provider_url="http://127.0.0.1:9/sms",
                              delivery_max_attempts=2) as notify:
        v = vault(notify)
        person = person_registered(v, "13911110000")
        await publish(nats_server.url, person)
        await projected(notify, person)
        await publish(nats_server.url, testing.ScheduleDue(schedule_id=uuid.uuid4(), person_id=person.person_id,
                                                           region_code=REGION, measure_id=uuid.uuid4(), due_on=utcnow().date()))

        async def done():
            items = {i["channel"]: i for i in await listed(notify, kind="test_due")}
            return items if items.get("sms", {}).get("status") == "failed" else None
        items = await eventually(done)
        assert items["inbox"]["status"] == "sent" and "gave up after 2 attempts" in items["sms"]["last_error"]


async def test_unacknowledged_positive_escalates_once_per_level_on_the_test_clock(notify, nats_server):
    v = vault(notify)
    staff = [user_created(v, "county", "official", [REGION]), user_created(v, "city", "official", ["320400"]),
             user_created(v, "root", "admin", [])]
    person = person_registered(v, None)
    await publish(nats_server.url, *staff, person)
    await projected(notify, *staff, person)
    await publish(nats_server.url, testing.ResultRecorded(
        sample_id=uuid.uuid4(), barcode="B1", person_id=person.person_id, id_number_index=person.id_number_index,
        region_code=REGION, outcome="positive", collected_at=utcnow(), tested_at=utcnow(), lab="lab-1"))
    await settled(nats_server.url, notify)
    alerts = await listed(notify, kind="positive_alert")
    assert [a["recipient"] for a in alerts] == ["county"]

    start = utcnow()
    await escalation_rounds(notify, start + timedelta(minutes=29))
    assert await listed(notify, kind="alert_escalated") == []  # not yet due

    await escalation_rounds(notify, start + timedelta(minutes=31))  # more rounds at the same moment: nothing more
    await settled(nats_server.url, notify)
    level1 = await listed(notify, kind="alert_escalated")
    assert len(level1) == 1 and level1[0]["recipient"] == "city" and "金坛区" in level1[0]["title"]
    escalations = await escalated_events(nats_server.url)
    assert len(escalations) == 1
    assert escalations[0]["level"] == 1 and escalations[0]["escalated_to"] == ["city"] and escalations[0]["region_code"] == "320400"

    # The city official acknowledges: it goes no higher, however long we wait.
    city = bearer("official", regions=["320400"], username="city")
    assert (await notify.post(f"/api/v1/notifications/{level1[0]['id']}/ack", headers=city)).status_code == 200
    await escalation_rounds(notify, start + timedelta(hours=5))
    await settled(nats_server.url, notify)
    assert len(await listed(notify, kind="alert_escalated")) == 1 and len(await escalated_events(nats_server.url)) == 1


async def escalation_rounds(client, moment, rounds: int = 3) -> None:
    """Set the test clock to ``moment`` and run escalation rounds there by hand: when this returns, at least
    ``rounds`` complete rounds have seen that moment (the background loop may run more; each is idempotent)."""
    client.app.state.clock = lambda: moment
    for _ in range(rounds):
        async with client.app.state.sessionmaker() as session:
            await alerts.escalate_due(session=session, now=moment)


async def escalated_events(url) -> list[dict]:
    return [data for subject, data in await stream_events(url, "NOTIFY") if subject == "notify.notification.escalated"]


async def test_broadcast_reaches_everyone_registered_in_the_region_in_the_background(notify, nats_server):
    v = vault(notify)
    inside = [person_registered(v, f"1380000{i:04d}" if i % 2 else None) for i in range(30)]
    outside = [person_registered(v, None, region="320412") for _ in range(3)]
    await publish(nats_server.url, *inside, *outside)
    await projected(notify, *inside, *outside)
    official = bearer("official", regions=[REGION], username="county")
    refused = await notify.post("/api/v1/notifications/broadcast", json={"region_code": "320412", "title": "t", "body": "b"},
                                headers=official)
    assert refused.status_code == 403 and refused.json()["code"] == "region_forbidden"
    bad = await notify.post("/api/v1/notifications/broadcast", json={"region_code": "32", "title": "t", "body": "b"}, headers=official)
    assert bad.status_code == 422
    assert (await notify.post("/api/v1/notifications/broadcast", json={"region_code": REGION, "title": "t", "body": "b"},
                              headers=resident(inside[0]))).status_code == 403
    started = await notify.post("/api/v1/notifications/broadcast",
                                json={"region_code": REGION, "title": "全员核酸", "body": "明日8点起全员核酸检测。"}, headers=official)
    assert started.status_code == 202, started.text
    broadcast_id = started.json()["id"]

    async def finished():
        body = (await notify.get(f"/api/v1/notifications/broadcasts/{broadcast_id}", headers=official)).json()
        done = body["status"] == "fanned_out" and body["notifications"].get("queued", 0) == 0
        return body if done else None
    progress = await eventually(finished)
    assert progress["recipients"] == 30 and progress["notifications"] == {"sent": 30 + 15}
    elsewhere = bearer("official", regions=["320412"], username="x")
    assert (await notify.get(f"/api/v1/notifications/broadcasts/{broadcast_id}", headers=elsewhere)).status_code == 404
    mine = (await notify.get("/api/v1/me/notifications", headers=resident(inside[1]))).json()["items"]
    assert [(i["kind"], i["title"]) for i in mine] == [("broadcast", "全员核酸")]
    assert (await notify.get("/api/v1/me/notifications", headers=resident(outside[0]))).json()["items"] == []


async def test_an_unacknowledged_alert_climbs_every_tier_then_stops_where_nobody_is_above(notify, nats_server):
    v = vault(notify)
    staff = [user_created(v, "county", "official", [REGION]), user_created(v, "city", "official", ["320400"]),
             user_created(v, "province", "official", ["320000"]), user_created(v, "root", "admin", [])]
    person = person_registered(v, None)
    await publish(nats_server.url, *staff, person)
    await projected(notify, *staff, person)
    await publish(nats_server.url, testing.ResultRecorded(
        sample_id=uuid.uuid4(), barcode="B2", person_id=person.person_id, id_number_index=person.id_number_index,
        region_code=REGION, outcome="positive", collected_at=utcnow(), tested_at=utcnow(), lab="lab-1"))
    await settled(nats_server.url, notify)
    assert [a["recipient"] for a in await listed(notify, kind="positive_alert")] == ["county"]

    start, climbed = utcnow(), []
    for step, _expected in enumerate(["city", "province", "root"], start=1):  # each tier waits its 30 minutes
        await escalation_rounds(notify, start + timedelta(minutes=31 * step))
        await settled(nats_server.url, notify)
        climbed = sorted(await listed(notify, kind="alert_escalated"), key=lambda n: n["created_at"])
        assert [n["recipient"] for n in climbed] == ["city", "province", "root"][:step], step
    # Above the admins there is nobody: the alert stays unacknowledged and visible, and escalates no more.
    for later in (timedelta(minutes=31 * 4), timedelta(hours=12)):
        await escalation_rounds(notify, start + later)
    await settled(nats_server.url, notify)
    assert len(await listed(notify, kind="alert_escalated")) == 3
    assert [(e["level"], e["escalated_to"]) for e in await escalated_events(nats_server.url)] == [
        (1, ["city"]), (2, ["province"]), (3, ["root"])]


async def test_an_alert_with_nobody_above_its_first_tier_is_kept_and_not_escalated(notify, nats_server):
    v = vault(notify)
    county = user_created(v, "county", "official", [REGION])  # no official above, no admin
    person = person_registered(v, None)
    await publish(nats_server.url, county, person)
    await projected(notify, county, person)
    await publish(nats_server.url, testing.ResultRecorded(
        sample_id=uuid.uuid4(), barcode="B3", person_id=person.person_id, id_number_index=person.id_number_index,
        region_code=REGION, outcome="positive", collected_at=utcnow(), tested_at=utcnow(), lab="lab-1"))
    await settled(nats_server.url, notify)
    assert [a["recipient"] for a in await listed(notify, kind="positive_alert")] == ["county"]
    await escalation_rounds(notify, utcnow() + timedelta(minutes=31))
    await escalation_rounds(notify, utcnow() + timedelta(hours=12))
    await settled(nats_server.url, notify)
    assert await listed(notify, kind="alert_escalated") == [] and await escalated_events(nats_server.url) == []
    async with notify.app.state.sessionmaker() as session:
        [alert] = (await session.execute(select(Alert))).scalars().all()
    assert alert.level == 0 and alert.acknowledged_at is None and alert.ack_due_at is None  # kept, on no clock


@pytest.mark.parametrize("idempotent", [True, False])
async def test_a_send_cut_short_by_a_crash_is_repeated_only_through_a_provider_that_drops_repeats(
    databases, nats_server, tmp_path, idempotent
):
    """A worker claimed an SMS and died before recording the provider's answer. When its lease runs out the SMS
    is sent again with the same Idempotency-Key if the provider drops repeats; otherwise it is failed, not doubled."""
    from services.notify import clockwork
    from services.notify.service import delivery

    async with provider_stub("--mode", "ok") as provider, notify_service(
        databases, nats_server.url, tmp_path / "home", sms_provider_url=f"{provider}/sms", delivery_loops=0,
        provider_idempotent=idempotent,
    ) as notify:
        v = vault(notify)
        await publish(nats_server.url, auth.SmsCodeRequested(
            phone_index=v.index("phone", "13912340001"), phone_enc=v.encrypt("13912340001"), code_enc=v.encrypt("222222"),
            expires_at=utcnow() + timedelta(minutes=5)))
        (queued,) = await eventually(lambda: listed(notify, kind="login_code"))
        app = notify.app
        async with app.state.sessionmaker() as session:  # the worker that dies after this commit
            (job,) = await delivery.claim(session=session, channel="sms", now=utcnow(), limit=10, lease_s=30)
        assert job.id == uuid.UUID(queued["id"]) and not job.interrupted
        assert await clockwork.deliver_once(app, "sms") == 0  # its lease holds: nobody else takes it
        app.state.clock = lambda: utcnow() + timedelta(seconds=31)
        assert await clockwork.deliver_once(app, "sms") == 1
        (item,) = await listed(notify, kind="login_code")
        accepted = (await stub_deliveries(provider))["accepted"]
        if idempotent:
            assert item["status"] == "sent" and accepted == {queued["id"]: 1}
        else:
            assert item["status"] == "failed" and "at most once" in item["last_error"] and accepted == {}
        assert item["attempts"] == 2


async def test_an_overdue_lead_alerts_the_county_once_and_escalates_as_a_lead(notify, nats_server):
    from cordon.contracts import registry

    v = vault(notify)
    staff = [user_created(v, "county", "official", [REGION]), user_created(v, "village", "grid_worker", [REGION + "100201"]),
             user_created(v, "city", "official", ["320400"])]
    await publish(nats_server.url, *staff)
    await projected(notify, *staff)
    overdue = registry.LeadOverdue(lead_id=uuid.uuid4(), region_code=REGION + "100201", county_code=REGION, source="import",
                                   reasons=[registry.LeadReason(rule="assist_request", detail="武汉协查")],
                                   due_at=utcnow() - timedelta(minutes=1), phone_masked="137****1111")
    await publish(nats_server.url, overdue, overdue)  # told twice (a redelivery): one alert
    await settled(nats_server.url, notify)
    told = await listed(notify, kind="lead_overdue")
    assert [(n["recipient"], n["channel"]) for n in told] == [("county", "inbox")]
    assert "137****1111" in told[0]["body"] and "外地协查" in told[0]["body"] and "320413100201" in told[0]["title"]

    start = utcnow()
    await escalation_rounds(notify, start + timedelta(minutes=31))
    await settled(nats_server.url, notify)
    up = await listed(notify, kind="lead_overdue_escalated")
    assert [n["recipient"] for n in up] == ["city"] and "排查线索" in up[0]["title"]
    assert await listed(notify, kind="alert_escalated") == []  # not told as a positive
