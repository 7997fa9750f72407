"""(c) kill -9 of notify at three points of a 5,000-person SMS broadcast: every SMS is sent exactly once.

The SMS channel is the embedded default, the sink file, which like a provider honouring idempotency keys
keeps a message once per notification id; notify is killed while a batch is claimed and half written, and
its claims are taken again (as interrupted) when their lease runs out after the restart.
"""

from __future__ import annotations

import asyncio
import time

import nats
import orjson
import pytest

from cordon import pii, policy
from cordon.bus.envelope import wrap
from cordon.contracts.registry import PolicyChanged
from tests.notify.integration.people import REGION, person_registered
from tests.tokens import bearer

PEOPLE = 5_000
POINTS = (1_000, 2_500, 4_000)  # SMS in the sink when notify is killed


async def announce(nats_url: str, events) -> None:
    """As the registry's relay publishes its events (registry.person.registered, registry.policy.changed):
    envelope, subject, Nats-Msg-Id."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        for event in events:
            envelope = wrap(event, source="cordon/registry", key=str(getattr(event, "person_id", "policy")))
            await js.publish(envelope.nats_subject, envelope.to_json(), headers={"Nats-Msg-Id": str(envelope.id)})
    finally:
        await nc.close()


async def quiet_hours_off(cluster) -> None:
    """Quiet hours (22:00-07:00 in the policy's time zone) would hold the residents' SMS by the time of day the
    suite runs: the default policy without them, announced as the registry would, and held by notify."""
    document = policy.default().model_dump(mode="json")
    document["notifications"]["quiet_hours"] = {"start": "00:00", "end": "00:00"}
    await announce(cluster.nats_url, [PolicyChanged(policy_version=2, document=document, changed_by="test")])
    await cluster.until("notify", "SELECT policy_version FROM policy_copy", lambda version: version == 2)


def sink_lines(cluster) -> list[bytes]:
    path = cluster.home / "outbox" / "sms.jsonl"
    return path.read_bytes().splitlines() if path.exists() else []


@pytest.mark.slow
async def test_kill_9_mid_broadcast_sends_every_sms_exactly_once(cluster):
    started = time.monotonic()
    notify = await cluster.start("notify", delivery_lease_s=2, delivery_poll_s=0.1, broadcast_poll_s=0.1)
    await quiet_hours_off(cluster)
    vault = pii.Vault.from_hex(notify.env["CORDON_PII_INDEX_KEY"], notify.env["CORDON_PII_ENCRYPTION_KEY"])
    people = [person_registered(vault, f"137{i:08d}") for i in range(PEOPLE)]
    await announce(cluster.nats_url, people)
    await cluster.until("notify", "SELECT count(*) FROM person_ref", lambda n: n == PEOPLE, timeout=300)
    async with notify.client() as api:
        response = await api.post(
            "/api/v1/notifications/broadcast",
            json={"region_code": REGION, "title": "全员核酸检测通知", "body": "请于今日18时前到就近采样点检测。", "channels": ["sms"]},
            headers=bearer("official", regions=[REGION], username="official-jt"),
        )
        assert response.status_code in (201, 202), response.text

    for point in POINTS:
        deadline = time.monotonic() + 120
        while len(sink_lines(cluster)) < point:
            assert time.monotonic() < deadline, notify.log_tail()
            await asyncio.sleep(0.005)
        notify.kill()
        print(f"notify killed with {len(sink_lines(cluster))} SMS in the sink, "
              f"{await cluster.query('notify', 'SELECT count(*) FROM notification WHERE status = :s', s='sent')} recorded sent")
        await notify.restart()

    sent = await cluster.until("notify", "SELECT count(*) FROM notification WHERE channel = 'sms' AND status = 'sent'",
                               lambda n: n == PEOPLE)
    lines = [orjson.loads(line) for line in sink_lines(cluster)]
    ids, phones = {line["id"] for line in lines}, {line["to"] for line in lines}
    failed = await cluster.query("notify", "SELECT count(*) FROM notification WHERE status = 'failed'")
    print(f"after {notify.kills} kills: {sent} SMS recorded sent, {failed} failed; the sink holds {len(lines)} "
          f"messages for {len(ids)} notifications and {len(phones)} phones; {time.monotonic() - started:.1f}s")
    assert len(lines) == len(ids) == len(phones) == PEOPLE and failed == 0
