"""Test data for the events service: bodies, tokens, valid ID numbers and phones, and the bus."""

from __future__ import annotations

import itertools
from datetime import timedelta

import nats

from cordon import pii
from cordon.bus import streams
from cordon.bus.envelope import Envelope, wrap
from cordon.clock import CHINA, utcnow
from cordon.contracts import Event
from tests.tokens import bearer

_serial = itertools.count(1)

REGION = "320413"
OFFICIAL = bearer("official", regions=[REGION], username="official-jt")
CITY_OFFICIAL = bearer("official", regions=["320400"], username="official-cz")
OTHER_OFFICIAL = bearer("official", regions=["320412"], username="official-wj")
GRID = bearer("grid_worker", regions=[REGION], username="grid-1")
OTHER_GRID = bearer("grid_worker", regions=["320412"], username="grid-2")
ADMIN = bearer("admin", username="admin")
LAB = bearer("lab", username="lab-1")


def id_number(region: str = REGION) -> str:
    first17 = f"{region}19900101{next(_serial) % 1000:03d}"
    return first17 + pii.id_check_character(first17)


def phone() -> str:
    return f"139{next(_serial):08d}"


def vault(client) -> pii.Vault:
    return pii.Vault.from_hex(client.app_settings.pii_index_key, client.app_settings.pii_encryption_key)


def resident(client, phone_number: str) -> dict[str, str]:
    """A resident's token as the gateway issues it: sub and phone_index are the phone's blind index."""
    index = vault(client).index("phone", phone_number)
    return bearer("resident", sub=index, phone_index=index)


def iso(moment) -> str:
    return moment.astimezone(CHINA).isoformat()


def body(**fields) -> dict:
    start = utcnow() + timedelta(days=1)
    base = {
        "title": "村委会议",
        "kind": "meeting",
        "organizer": {"name": "李四", "phone": phone()},
        "venue": {"address": "金坛区 xx 村 1 号", "region_code": REGION},
        "starts_at": iso(start),
        "ends_at": iso(start + timedelta(hours=3)),
        "expected_attendees": 20,
    }
    return {**base, **fields}


PLANS = {"prevention_plan": "测温、扫码、戴口罩", "emergency_plan": "发热者隔离，报告指挥部"}


async def file(client, headers=GRID, **fields) -> dict:
    response = await client.post("/api/v1/gatherings", json=body(**fields), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def publish(url: str, event: Event, key: str = "k") -> Envelope:
    """A real envelope through JetStream, as the producing service's relay sends it."""
    envelope = wrap(event, source="cordon/test", key=key)
    nc = await nats.connect(url)
    try:
        await streams.declare(nc.jetstream())
        await streams.declare(nc.jetstream())  # the service declares them in the background: never race it
        await nc.jetstream().publish(envelope.nats_subject, envelope.to_json(), headers={"Nats-Msg-Id": str(envelope.id)})
    finally:
        await nc.close()
    return envelope
