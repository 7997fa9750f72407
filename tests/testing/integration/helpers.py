"""Test data for the testing service: valid ID numbers, registry events published on real NATS,
samples and results through the public API, and reading what the service published."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime, timedelta

import nats

from cordon import pii
from cordon.bus import streams
from cordon.bus.envelope import wrap
from cordon.contracts.registry import MeasureAssigned, PersonRegistered
from cordon.pii import Vault
from tests.serving import eventually, settled, stream_envelopes
from tests.tokens import bearer

_serial = itertools.count(1)

LAB = bearer("lab", regions=["320413"], username="lab-1")
GRID = bearer("grid_worker", regions=["320413"], username="grid-1")
OFFICIAL = bearer("official", regions=["320400"], username="official-cz")
ELSEWHERE = bearer("grid_worker", regions=["110101"], username="grid-bj")
ADMIN = bearer("admin", username="admin")


def id_number(region: str = "320413") -> str:
    first17 = f"{region}19900101{next(_serial) % 1000:03d}"
    return first17 + pii.id_check_character(first17)


def bad_id_number() -> str:
    good = id_number()
    return good[:17] + ("0" if good[17] != "0" else "1")


def barcode() -> str:
    return f"BC{uuid.uuid4().hex[:12]}"


def vault(client) -> Vault:
    settings = client.app_settings
    return Vault.from_hex(settings.pii_index_key, settings.pii_encryption_key)


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def sample_body(number: str | None = None, *, tube: str | None = None, at: datetime | None = None, code: str | None = None) -> dict:
    return {
        "barcode": code or barcode(),
        "id_number": number or id_number(),
        "collected_at": (at or now() - timedelta(hours=1)).isoformat(),
        "site": "金坛区人民医院采样点",
        **({"tube_id": tube} if tube else {}),
    }


async def post_sample(client, **kwargs) -> dict:
    response = await client.post("/api/v1/samples", json=sample_body(**kwargs), headers=LAB)
    assert response.status_code == 201, response.text
    return response.json()


async def post_result(client, *, tube=None, code=None, result="negative", tested_at=None, **extra):
    body = {"result": result, "tested_at": (tested_at or now()).isoformat(), "lab": "常州检测中心", **extra}
    body.update({"tube_id": tube} if tube else {"barcode": code})
    return await client.post("/api/v1/results", json=body, headers=LAB)


async def publish(nats_url: str, event, key) -> None:
    """A registry event as the registry's relay would publish it: envelope, subject, Nats-Msg-Id."""
    envelope = wrap(event, source="cordon/registry", key=str(key))
    nc = await nats.connect(nats_url)
    try:
        await streams.declare(nc.jetstream())  # the service declares them in the background: never race it
        await nc.jetstream().publish(envelope.nats_subject, envelope.to_json(), headers={"Nats-Msg-Id": str(envelope.id)})
    finally:
        await nc.close()


async def register_person(
    client, number: str, *, region: str = "320413", phone: str | None = None, tags: list[str] | None = None,
) -> uuid.UUID:
    """Publish registry.person.registered and wait until testing has it."""
    v = vault(client)
    person_id = uuid.uuid4()
    event = PersonRegistered(
        person_id=person_id, region_code=region, id_number_index=v.index("id_number", number),
        id_number_masked=pii.mask_id_number(number), phone_index=v.index("phone", phone) if phone else None,
        tags=tags or [],
    )
    await publish(client.nats_url, event, person_id)

    async def known():
        return (await client.get(f"/api/v1/persons/{person_id}/tests", headers=ADMIN)).status_code == 200

    await eventually(known)
    return person_id


def measure(person_id, days: list[date], *, measure_id=None, cls=MeasureAssigned, kind="home_health_monitoring", **extra):
    return cls(
        measure_id=measure_id or uuid.uuid4(), person_id=person_id, region_code="320413", kind=kind,
        rule="medium_risk_travel", starts_on=min(days, default=date.today()), ends_on=max(days, default=date.today()),
        status="active" if cls is MeasureAssigned else "released", test_days=days, **extra,
    )


async def published_events(testing, subject: str) -> list[dict]:
    """Every event of ``subject`` the testing service has published (as envelopes), once all it staged is out."""
    await settled(testing.nats_url, testing)
    return [e.model_dump(mode="json") for e in await stream_envelopes(testing.nats_url, "TESTING", subject)]
