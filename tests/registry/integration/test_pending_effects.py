"""Facts that must cause an effect survive a crash: travel records carry an evaluation mark (a push cut short is
evaluated by the partner's retry or by the clockwork), and a result for an ID number nobody has registered yet
is kept and applied at registration, in either order of the two."""

from __future__ import annotations

import uuid
from datetime import timedelta

from cordon import pii
from cordon.clock import utcnow
from cordon.contracts import testing
from services.registry import clockwork
from services.registry.models import WaitingResult
from services.registry.service import reactions, travel
from tests.registry.integration.people import GRID, OFFICIAL, id_number, phone, register
from tests.registry.integration.test_travel_and_risk_api import NDJSON, ndjson, record


class Crash(Exception):
    """The push's process dies here: what was committed stays, nothing after it runs."""


async def push_cut_short(registry, records: list[dict], monkeypatch) -> None:
    """The push of the API with every line committed, then the process goes away before it evaluates."""

    async def dies(**_):
        raise Crash

    with monkeypatch.context() as patch:
        patch.setattr(travel, "evaluate_pending", dies)
        response = await registry.post("/api/v1/travel-records/batch", content=ndjson(*records), headers=NDJSON)
        assert response.status_code == 500


async def color(registry, person_id) -> str:
    return (await registry.get(f"/api/v1/persons/{person_id}/health-code", headers=GRID)).json()["color"]


async def crashed_push(registry, monkeypatch, n: int = 3) -> tuple[list[dict], list[dict]]:
    await registry.put("/api/v1/risk-areas/420106", json={"level": "high"}, headers=OFFICIAL)
    people = [await register(registry) for _ in range(n)]
    records = [record(f"crash-{i}", phone=p["_phone"]) for i, p in enumerate(people)] + [record("nobody")]
    await push_cut_short(registry, records, monkeypatch)
    assert [await color(registry, p["id"]) for p in people] == ["green"] * n  # committed, not evaluated
    return people, records


async def test_the_partners_retry_evaluates_what_a_crashed_push_left_pending(registry, monkeypatch):
    people, records = await crashed_push(registry, monkeypatch)
    again = (await registry.post("/api/v1/travel-records/batch", content=ndjson(*records), headers=NDJSON)).json()
    assert (again["accepted"], again["duplicates"]) == (0, len(records))
    assert [await color(registry, p["id"]) for p in people] == ["red"] * len(people)


async def test_the_clockwork_evaluates_pending_records_without_a_retry(registry, monkeypatch):
    people, _ = await crashed_push(registry, monkeypatch)
    await clockwork.tick(registry.app)
    assert [await color(registry, p["id"]) for p in people] == ["red"] * len(people)
    settled = await travel.evaluate_pending(sessionmaker=registry.app.state.sessionmaker, now=utcnow())
    assert settled == 0  # nothing left pending


def positive(index: str, **fields) -> testing.ResultRecorded:
    now = utcnow()
    return testing.ResultRecorded(
        sample_id=uuid.uuid4(), barcode=f"B{uuid.uuid4().hex[:8]}", id_number_index=index, outcome="positive",
        collected_at=now - timedelta(hours=6), tested_at=now - timedelta(hours=1), lab="lab-1", **fields,
    )


async def handle(registry, event) -> None:
    """As the registry's consumer runs it: in one transaction (the inbox row aside)."""
    async with registry.app.state.sessionmaker() as session:
        await reactions.record_result(session=session, result=event, now=utcnow())
        await session.commit()


def index_of(registry, number: str) -> str:
    vault = pii.Vault.from_hex(registry.app_settings.pii_index_key, registry.app_settings.pii_encryption_key)
    return vault.index("id_number", pii.normalize_id_number(number))


async def test_a_positive_before_registration_turns_the_code_red_at_registration(registry):
    number = id_number()
    await handle(registry, positive(index_of(registry, number)))
    body = {"id_number": number, "name": "李四", "phone": phone(), "region_code": "320413"}
    person = (await registry.post("/api/v1/persons", json=body, headers=GRID)).json()
    assert await color(registry, person["id"]) == "red"
    # Told again once testing knows the person: the registry applied it already, nothing changes.
    await handle(registry, positive(index_of(registry, number), person_id=uuid.UUID(person["id"]), relinked=True))
    assert await color(registry, person["id"]) == "red"


async def test_a_positive_after_registration_turns_the_code_red_at_once(registry):
    person = await register(registry)
    await handle(registry, positive(index_of(registry, person["_id_number"])))
    assert await color(registry, person["id"]) == "red"


async def test_a_result_and_a_registration_that_cross_are_settled_by_the_clockwork(registry):
    """The result's transaction did not see the registration, nor the registration the result: what that
    race leaves behind is a waiting result whose person exists."""
    person = await register(registry)
    async with registry.app.state.sessionmaker() as session:
        session.add(WaitingResult(
            id_number_index=index_of(registry, person["_id_number"]), sample_id=uuid.uuid4(), outcome="positive",
            collected_at=utcnow() - timedelta(hours=3), retest_due_by=None, correction=False, received_at=utcnow(),
        ))
        await session.commit()
    assert await color(registry, person["id"]) == "green"
    await clockwork.tick(registry.app)
    assert await color(registry, person["id"]) == "red"
