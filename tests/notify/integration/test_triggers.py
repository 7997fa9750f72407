"""Other services' events, published on real JetStream, become notifications: once each, to the right people."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta

from cordon.bus.envelope import wrap
from cordon.clock import utcnow
from cordon.contracts import auth, events, registry, testing
from tests.notify.integration.conftest import projected, publish, vault
from tests.notify.integration.people import REGION, person_registered, user_created
from tests.serving import eventually, settled
from tests.tokens import bearer

ADMIN = bearer("admin", username="root")


def resident(person) -> dict:
    return bearer("resident", sub=person.phone_index or "x", phone_index=person.phone_index, person_id=str(person.person_id))


async def listed(client, headers=ADMIN, **query) -> list[dict]:
    response = await client.get("/api/v1/notifications", params={"limit": 500, **query}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def sink(client, channel="sms") -> list[dict]:
    path = client.app_settings.home / "outbox" / f"{channel}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


async def test_login_code_reaches_the_sink_once_and_is_never_stored_in_clear(notify, nats_server):
    v = vault(notify)
    event = auth.SmsCodeRequested(phone_index=v.index("phone", "13812345678"), phone_enc=v.encrypt("13812345678"),
                                  code_enc=v.encrypt("424242"), expires_at=utcnow() + timedelta(minutes=5))
    envelope = wrap(event, source="cordon/gateway", key="k")
    await publish(nats_server.url, envelopes=[envelope])
    # Redelivered past the stream's duplicate window (a new message id, the same event id): still one message.
    await publish(nats_server.url, envelopes=[envelope], redeliver=True)
    await settled(nats_server.url, notify)  # both copies handled
    items = await eventually(lambda: _sent(notify, kind="login_code"))
    assert len(items) == 1 and items[0]["channel"] == "sms" and "424242" not in items[0]["body"]
    lines = sink(notify)
    assert len(lines) == 1 and lines[0]["to"] == "13812345678" and "424242" in lines[0]["body"]


async def _async(value):
    return value


async def _sent(client, **query):
    items = await listed(client, **query)
    return items if items and all(i["status"] == "sent" for i in items) else None


async def test_positive_result_tells_the_resident_and_alerts_the_region_officials(notify, nats_server):
    v = vault(notify)
    person = person_registered(v, "13900001111")
    users = [user_created(v, "o1", "official", [REGION], "13700001111"), user_created(v, "g1", "grid_worker", [REGION]),
             user_created(v, "o-far", "official", ["110101"])]
    await publish(nats_server.url, *users, person)
    await projected(notify, *users, person)
    result = testing.ResultRecorded(sample_id=uuid.uuid4(), barcode="B77", person_id=person.person_id,
                                    id_number_index=person.id_number_index, region_code=REGION, outcome="positive",
                                    collected_at=utcnow() - timedelta(hours=3), tested_at=utcnow(), lab="lab-1")
    envelopes = await publish(nats_server.url, result)
    await publish(nats_server.url, envelopes=envelopes, redeliver=True)
    await settled(nats_server.url, notify)  # the result and its redelivery handled

    items = (await notify.get("/api/v1/me/notifications", headers=resident(person))).json()["items"]
    assert [i["kind"] for i in items] == ["result_positive"] and "B77" in items[0]["body"]
    await eventually(lambda: _sent(notify))  # every message out of the door
    alerts = await listed(notify, kind="positive_alert")
    assert sorted((a["recipient"], a["channel"]) for a in alerts) == [("o1", "inbox"), ("o1", "sms")]
    assert all(a["urgent"] for a in alerts)
    assert sorted(line["to"] for line in sink(notify)) == ["13700001111", "13900001111"]

    # The resident reads theirs; nobody else can.
    other = bearer("resident", sub="y", phone_index="y", person_id=str(uuid.uuid4()))
    assert (await notify.post(f"/api/v1/me/notifications/{items[0]['id']}/read", headers=other)).status_code == 404
    read = await notify.post(f"/api/v1/me/notifications/{items[0]['id']}/read", headers=resident(person))
    assert read.status_code == 200 and read.json()["status"] == "read"

    # The official acknowledges; an official elsewhere cannot see it; a resident's notice is no alert.
    inbox_alert = next(a for a in alerts if a["channel"] == "inbox")
    far = bearer("official", regions=["110101"], username="o-far")
    assert (await notify.post(f"/api/v1/notifications/{inbox_alert['id']}/ack", headers=far)).status_code == 404
    mine = bearer("official", regions=[REGION], username="o1")
    ack = await notify.post(f"/api/v1/notifications/{inbox_alert['id']}/ack", headers=mine)
    assert ack.status_code == 200 and ack.json()["status"] == "acknowledged"
    not_alert = await notify.post(f"/api/v1/notifications/{items[0]['id']}/ack", headers=mine)
    assert not_alert.status_code == 409 and not_alert.json()["code"] == "not_an_alert"
    assert len(await listed(notify, kind="positive_alert")) == 2  # the redelivery made nothing new
    assert await listed(notify, headers=far) == []


async def test_a_pool_positive_alerts_the_staff_and_a_retest_not_taken_escalates(notify, nats_server):
    v = vault(notify)
    person = person_registered(v, "13900005555")
    users = [user_created(v, "g-pool", "grid_worker", [REGION], "13700005555"), user_created(v, "o-pool", "official", ["320400"]),
             user_created(v, "g-far", "grid_worker", ["110101"])]
    await publish(nats_server.url, *users, person)
    await projected(notify, *users, person)
    collected = datetime(2022, 3, 1, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    pooled = testing.ResultRecorded(
        sample_id=uuid.uuid4(), barcode="B-POOL", tube_id="T-POOL", person_id=person.person_id,
        id_number_index=person.id_number_index, region_code=REGION, outcome="pool_positive", collected_at=collected,
        tested_at=collected + timedelta(hours=4), lab="lab-1", retest_due_by=collected + timedelta(hours=16))
    await publish(nats_server.url, pooled)
    await settled(nats_server.url, notify)
    alerts = await listed(notify, kind="pool_positive_alert")
    assert sorted((a["recipient"], a["channel"]) for a in alerts) == [("g-pool", "inbox"), ("g-pool", "sms"), ("o-pool", "inbox")]
    assert alerts[0]["urgent"] and alerts[0]["body"] == (
        "—（金坛区）2022-03-01 09:00采集的混采样本检测结果异常，请组织上门单管复检，于2022-03-02 01:00前完成，复检前落实原地管控。"
    ).replace("—", person.name_masked or "—")
    await publish(nats_server.url, testing.RetestOverdue(
        sample_id=pooled.sample_id, person_id=person.person_id, id_number_index=person.id_number_index, region_code=REGION,
        collected_at=collected, retest_due_by=pooled.retest_due_by))
    await settled(nats_server.url, notify)
    escalated = await listed(notify, kind="retest_overdue")
    assert sorted((a["recipient"], a["channel"]) for a in escalated if a["channel"] == "inbox") == [
        ("g-pool", "inbox"), ("o-pool", "inbox")]
    assert all(a["urgent"] and "逾期" in a["title"] for a in escalated)


async def test_a_storm_of_same_kind_notices_collapses_for_staff(notify, nats_server):
    v = vault(notify)
    people = [person_registered(v, None) for _ in range(5)]
    grid = user_created(v, "g1", "grid_worker", [REGION])
    await publish(nats_server.url, grid, *people)
    await projected(notify, grid)
    await publish(nats_server.url, *[
        registry.MeasureAssigned(measure_id=uuid.uuid4(), person_id=p.person_id, region_code=REGION,
                                 kind="home_health_monitoring", rule="medium_risk_travel", starts_on=date(2022, 3, 1),
                                 ends_on=date(2022, 3, 7), status="active", test_days=[date(2022, 3, 2)])
        for p in people])
    await settled(nats_server.url, notify)
    items = await listed(notify, kind="staff_measure_assigned")
    assert len(items) == 1 and items[0]["count"] == 5 and items[0]["recipient"] == "g1" and "5" in items[0]["body"]
    residents = await listed(notify, kind="measure_assigned")
    assert sorted(i["recipient"] for i in residents) == sorted(str(p.person_id) for p in people)
    assert all(i["count"] == 1 for i in residents)


async def test_each_measure_of_a_chain_is_its_own_notice(notify, nats_server):
    """集中隔离 then 居家健康监测: the second must not overwrite the first (both are instructions)."""
    v = vault(notify)
    person = person_registered(v, "13900004444")
    await publish(nats_server.url, person)
    await projected(notify, person)
    chain = [("centralized_quarantine", date(2022, 3, 1), date(2022, 3, 14), []),
             ("home_health_monitoring", date(2022, 3, 15), date(2022, 3, 21), [date(2022, 3, 16), date(2022, 3, 21)])]
    await publish(nats_server.url, *[
        registry.MeasureAssigned(measure_id=uuid.uuid4(), person_id=person.person_id, region_code=REGION, kind=kind,
                                 rule="high_risk_travel", starts_on=start, ends_on=end, status="active", test_days=days)
        for kind, start, end, days in chain])
    await settled(nats_server.url, notify)
    mine = (await notify.get("/api/v1/me/notifications", headers=resident(person))).json()["items"]
    assert sorted((i["title"], i["count"]) for i in mine) == [("管控措施：居家健康监测", 1), ("管控措施：集中隔离", 1)]
    sms = await listed(notify, kind="measure_assigned", channel="sms")
    assert len(sms) == 2 and all(i["count"] == 1 for i in sms)


async def test_organisers_and_exposed_attendees_are_told(notify, nats_server):
    v = vault(notify)
    organiser = person_registered(v, "13911112222", language="en")
    attendee = person_registered(v, "13933334444")
    await publish(nats_server.url, organiser, attendee)
    await projected(notify, organiser, attendee)
    now = utcnow()
    facts = dict(title="Wedding", kind="wedding", region_code=REGION, status="approved", requirement="approval",
                 starts_at=now, ends_at=now + timedelta(hours=3), expected_attendees=80)
    stranger_index = v.index("phone", "13955556666")
    await publish(
        nats_server.url,
        events.GatheringApproved(gathering_id=uuid.uuid4(), organizer_phone_index=organiser.phone_index, **facts),
        events.GatheringRejected(gathering_id=uuid.uuid4(), organizer_phone_index=stranger_index,
                                     organizer_phone_enc=v.encrypt("13955556666"), reason="too big", **facts),
        events.ExposureDetected(
            gathering_id=uuid.uuid4(), title="Wedding", region_code=REGION, gathering_on=now.date(),
            positive_id_number_index="positive-one", sample_collected_at=now, attendees=[
                events.Attendee(id_number_index="positive-one", checked_in_at=now),
                events.Attendee(phone_index=attendee.phone_index, checked_in_at=now),
                events.Attendee(id_number_index=attendee.id_number_index, checked_in_at=now),  # twice: told once
                events.Attendee(phone_index=stranger_index, checked_in_at=now),
            ]),
    )
    await settled(nats_server.url, notify)
    approved = await listed(notify, kind="gathering_approved")
    assert sorted(i["channel"] for i in approved) == ["inbox", "sms"] and approved[0]["title"].startswith("Gathering approved")
    rejected = await listed(notify, kind="gathering_rejected")
    assert len(rejected) == 2 and {i["recipient"] for i in rejected} == {stranger_index}
    exposed = await listed(notify, kind="exposure")
    assert sorted((i["recipient"], i["channel"]) for i in exposed) == sorted(
        [(str(attendee.person_id), "inbox"), (str(attendee.person_id), "sms"), (stranger_index, "inbox")])
    # Not registered: their inbox, by the phone they sign in with.
    stranger = bearer("resident", sub=stranger_index, phone_index=stranger_index)
    kinds = {i["kind"] for i in (await notify.get("/api/v1/me/notifications", headers=stranger)).json()["items"]}
    assert kinds == {"gathering_rejected", "exposure"}
    await eventually(lambda: _async(any(line["to"] == "13955556666" for line in sink(notify))))


async def test_lists_check_roles_paging_and_input(notify, nats_server):
    v = vault(notify)
    person = person_registered(v, None)
    await publish(nats_server.url, person)
    await publish(nats_server.url, *[testing.ScheduleDue(schedule_id=uuid.uuid4(), person_id=person.person_id, region_code=REGION,
                                                         measure_id=uuid.uuid4(), due_on=date(2022, 3, d)) for d in (1, 2, 3)])
    await settled(nats_server.url, notify)
    assert len(await listed(notify, kind="test_due")) == 1  # folded: one unread inbox entry
    first = await notify.get("/api/v1/notifications", params={"limit": 1}, headers=ADMIN)
    assert first.status_code == 200 and len(first.json()["items"]) == 1
    assert (await notify.get("/api/v1/notifications", headers=resident(person))).status_code == 403
    assert (await notify.get("/api/v1/notifications")).status_code == 401
    assert (await notify.get("/api/v1/notifications", params={"limit": 501}, headers=ADMIN)).status_code == 422
    bad = await notify.get("/api/v1/notifications", params={"cursor": "!!"}, headers=ADMIN)
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_cursor"
    assert (await notify.get("/api/v1/notifications", params={"status": "nope"}, headers=ADMIN)).status_code == 422
    assert (await notify.post(f"/api/v1/notifications/{uuid.uuid4()}/ack", headers=ADMIN)).status_code == 404
    assert (await notify.post("/api/v1/me/notifications/not-a-uuid/read", headers=resident(person))).status_code == 422
    mine = (await notify.get("/api/v1/me/notifications", headers=resident(person))).json()["items"]
    assert mine[0]["count"] == 3


async def handled(client, *envelopes) -> bool:
    """Whether the service's consumers have handled (committed) these events."""
    from sqlalchemy import func, select

    from cordon.bus.tables import inbox

    async with client.app.state.sessionmaker() as session:
        ids = [e.id for e in envelopes]
        return (await session.execute(select(func.count()).select_from(inbox).where(inbox.c.event_id.in_(ids)))).scalar() == len(ids)


async def test_a_result_told_again_with_its_person_reaches_them_once(notify, nats_server):
    """Testing told a positive before it knew the person (person_id None), then again once it did (relinked):
    the person is told once, and their region's officials alerted once, whether or not the first copy found them."""
    v = vault(notify)
    official = user_created(v, "o-relink", "official", [REGION])
    known, unknown = person_registered(v, "13900002222"), person_registered(v, "13900003333")
    await publish(nats_server.url, official, known)
    await projected(notify, official, known)
    envelopes = []
    for person in (known, unknown):
        first = testing.ResultRecorded(sample_id=uuid.uuid4(), barcode=f"B-{person.person_id.hex[:6]}", person_id=None,
                                       id_number_index=person.id_number_index, outcome="positive",
                                       collected_at=utcnow() - timedelta(hours=3), tested_at=utcnow(), lab="lab-1")
        envelopes += await publish(nats_server.url, first)
        await eventually(lambda envelopes=envelopes: handled(notify, *envelopes))
        if person is unknown:  # notify learns of them only now, as testing did
            await publish(nats_server.url, person)
            await projected(notify, person)
        again = first.model_copy(update={"person_id": person.person_id, "region_code": REGION, "relinked": True})
        envelopes += await publish(nats_server.url, again)
        await eventually(lambda envelopes=envelopes: handled(notify, *envelopes))
    for person in (known, unknown):
        items = (await notify.get("/api/v1/me/notifications", headers=resident(person))).json()["items"]
        assert [i["kind"] for i in items] == ["result_positive"]
    alerts = await listed(notify, kind="positive_alert", channel="inbox")
    assert len(alerts) == 2 and {a["recipient"] for a in alerts} == {"o-relink"}
