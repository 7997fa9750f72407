"""Two replicas of the notify service on one database and one nats-server, as the cluster profile runs
them: every message is sent once and every alert escalates once per level (PostgreSQL claims rows with
FOR UPDATE SKIP LOCKED; on SQLite one writer at a time)."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta

from cordon.clock import utcnow
from cordon.contracts import auth, testing
from tests.notify.integration.conftest import notify_service, projected, publish, vault
from tests.notify.integration.people import REGION, person_registered, user_created
from tests.notify.integration.test_delivery_and_alerts import escalated_events, escalation_rounds
from tests.notify.integration.test_triggers import listed
from tests.serving import eventually, settled

CODES = 60


def sink_lines(client) -> list[dict]:
    path = client.app_settings.home / "outbox" / "sms.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


async def test_two_replicas_send_each_message_once_and_escalate_each_alert_once(databases, nats_server, tmp_path):
    async with notify_service(databases, nats_server.url, tmp_path / "a") as a, notify_service(
        databases, nats_server.url, tmp_path / "b", database_url=a.app_settings.database_url,
    ) as b:
        v = vault(a)
        phones = [f"1391000{i:04d}" for i in range(CODES)]
        await publish(nats_server.url, *[
            auth.SmsCodeRequested(phone_index=v.index("phone", p), phone_enc=v.encrypt(p), code_enc=v.encrypt("123456"),
                                  expires_at=utcnow() + timedelta(minutes=5)) for p in phones])
        await settled(nats_server.url, a, b)

        async def all_sent():
            items = await listed(a, kind="login_code")
            return items if len(items) == CODES and all(i["status"] == "sent" for i in items) else None
        items = await eventually(all_sent, timeout=60)
        lines = sink_lines(a) + sink_lines(b)
        assert sorted(line["id"] for line in lines) == sorted(i["id"] for i in items)  # once each, by one replica
        assert all(i["attempts"] == 1 for i in items)

        # Escalation: both replicas run their rounds at the same moments.
        staff = [user_created(v, "county", "official", [REGION]), user_created(v, "city", "official", ["320400"]),
                 user_created(v, "root", "admin", [])]
        person = person_registered(v, None)
        await publish(nats_server.url, *staff, person)
        await projected(a, *staff, person)
        await publish(nats_server.url, testing.ResultRecorded(
            sample_id=uuid.uuid4(), barcode="R1", person_id=person.person_id, id_number_index=person.id_number_index,
            region_code=REGION, outcome="positive", collected_at=utcnow(), tested_at=utcnow(), lab="lab-1"))
        await settled(nats_server.url, a, b)
        assert [x["recipient"] for x in await listed(a, kind="positive_alert")] == ["county"]
        start = utcnow()
        for step in (1, 2):
            moment = start + timedelta(minutes=31 * step)
            await asyncio.gather(escalation_rounds(a, moment), escalation_rounds(b, moment))
        await settled(nats_server.url, a, b)
        assert sorted(n["recipient"] for n in await listed(a, kind="alert_escalated")) == ["city", "root"]
        assert [e["level"] for e in await escalated_events(nats_server.url)] == [1, 2]
