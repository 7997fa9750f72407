"""The command office's counters (GET /stats/*) against a count over the registry's own rows, after a
random sequence of registrations, moves, measures, releases, overdue tests, samples, positives and
corrections — through the real API, real JetStream and the read model's consumers."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select

from cordon import regions
from cordon.clock import local_date, utcnow
from cordon.contracts import testing
from services.registry.models import Measure, Person
from services.registry.service import measures, stats
from tests.registry.integration.people import ADMIN, OFFICIAL, PARTNER, register
from tests.registry.integration.test_reactions import publish, result, vault
from tests.serving import settled
from tests.tokens import bearer

PLACES = ["320413", "320413100201", "320413100202", "320413100202001", "320413101201"]
KINDS = ["centralized_quarantine", "home_quarantine", "home_health_monitoring", "daily_health_monitoring"]


async def rows_count(registry, scope: str) -> dict:
    """The overview's figures counted over the rows themselves."""
    async with registry.app.state.sessionmaker() as session:
        inside = regions.within(Person.region_code, scope)
        colors = dict((await session.execute(select(Person.health_color, func.count()).where(inside).group_by(Person.health_color))).all())
        kinds = dict((await session.execute(
            select(Measure.kind, func.count()).join(Person, Person.id == Measure.person_id)
            .where(inside, Measure.status == "active").group_by(Measure.kind)
        )).all())
        overdue = await session.scalar(select(func.count()).where(inside, Person.overdue_since.is_not(None)))
    return {
        "people": sum(colors.values()),
        "by_color": {c: colors.get(c, 0) for c in ("green", "yellow", "red")},
        "measures_active": {k: kinds.get(k, 0) for k in KINDS},
        "tests_overdue": overdue,
    }


async def rows_by_child(registry, scope: str) -> dict[str, dict]:
    async with registry.app.state.sessionmaker() as session:
        people = (await session.execute(
            select(Person.region_code, Person.health_color).where(regions.within(Person.region_code, scope))
        )).all()
    out: dict[str, Counter] = {}
    for code, color in people:
        child = code if code == scope else regions.child_toward(scope, code)
        out.setdefault(child, Counter())["people"] += 1
        out[child][color] += 1
    return {child: dict(c) for child, c in out.items()}


async def test_counters_equal_a_count_over_the_rows_after_random_changes(registry, nats_server):
    imported = await registry.post(
        "/api/v1/regions/import", headers={**ADMIN, "content-type": "text/csv"},
        content="code,name\n320413100,金城镇\n320413101,尧塘街道\n320413100201,东门村\n320413100202,西门村\n"
                "320413100202001,西门村第一网格\n320413101201,尧塘村\n".encode(),
    )
    assert imported.status_code == 200, imported.text
    rng = random.Random(20261201)
    now = utcnow()
    today = local_date(now)
    people: list[dict] = []
    measure_ids: list[str] = []
    positives: dict[uuid.UUID, tuple[str, object]] = {}  # sample -> (person id, day) still positive
    ops = Counter()
    for _ in range(60):
        op = rng.choice(["register", "register", "move", "measure", "release", "overdue", "sample", "positive", "correct"])
        if op == "register" or not people:
            people.append(await register(registry, region=rng.choice(PLACES), headers=OFFICIAL))
            ops["register"] += 1
            continue
        person = rng.choice(people)
        index = vault(registry).index("id_number", person["_id_number"])
        if op == "move":
            person["region_code"] = rng.choice(PLACES)
            response = await registry.patch(f"/api/v1/persons/{person['id']}", json={"region_code": person["region_code"]}, headers=OFFICIAL)
            assert response.status_code == 200, response.text
        elif op == "measure":
            starts = today + timedelta(days=rng.choice([0, 0, 1]))
            response = await registry.post(f"/api/v1/persons/{person['id']}/measures", headers=OFFICIAL, json={
                "kind": rng.choice(KINDS), "starts_on": starts.isoformat(), "days": 7, "reason": "排查"})
            assert response.status_code in (200, 201), response.text
            measure_ids += [m["id"] for m in response.json()["items"]]
        elif op == "release" and measure_ids:
            response = await registry.post(f"/api/v1/measures/{measure_ids.pop(rng.randrange(len(measure_ids)))}/release",
                                           json={"reason": "解除"}, headers=OFFICIAL)
            assert response.status_code in (200, 409), response.text
        elif op == "overdue":
            await publish(nats_server.url, testing.ScheduleOverdue(
                schedule_id=uuid.uuid4(), person_id=person["id"], region_code=person["region_code"], measure_id=uuid.uuid4(),
                due_on=today - timedelta(days=rng.randint(1, 3))))
        elif op == "sample":
            await publish(nats_server.url, testing.SampleCollected(
                sample_id=uuid.uuid4(), barcode=f"S{rng.randrange(10**8)}", person_id=person["id"], id_number_index=index,
                collected_at=now, site="采样点1"))
        elif op == "positive":
            event = result(uuid.UUID(person["id"]), "positive", index, region_code=person["region_code"])
            # Sample ids from the seeded generator: the whole sequence is the same at every run.
            event = event.model_copy(update={"tested_at": now - timedelta(days=rng.randint(0, 3)),
                                             "sample_id": uuid.UUID(int=rng.getrandbits(128))})
            positives[event.sample_id] = (person["id"], local_date(event.tested_at))
            await publish(nats_server.url, event)
        elif op == "correct" and positives:
            sample_id = rng.choice(sorted(positives))
            owner_id = positives.pop(sample_id)[0]
            owner = next(p for p in people if p["id"] == owner_id)
            event = result(uuid.UUID(owner["id"]), "negative", vault(registry).index("id_number", owner["_id_number"]),
                           correction=True, correction_reason="录入错误")
            await publish(nats_server.url, event.model_copy(update={"sample_id": sample_id}))
        ops[op] += 1
    # Measures assigned for tomorrow start: registry.measure.started moves them into the counters.
    await settled(nats_server.url, registry)
    async with registry.app.state.sessionmaker() as session:
        await measures.advance(session=session, now=now + timedelta(days=1))
    await settled(nats_server.url, registry)
    assert ops["register"] >= 10 and ops["measure"] >= 3 and ops["positive"] >= 3, ops

    answer = (await registry.get("/api/v1/stats/overview", params={"region_code": "320413"}, headers=OFFICIAL)).json()
    expected = await rows_count(registry, "320413")
    assert {k: answer[k] for k in expected} == expected
    assert answer["people"] == len(people)
    by_day = Counter(day for _, day in positives.values())
    assert {d["date"]: d["count"] for d in answer["positives_by_day"] if d["count"]} == {
        day.isoformat(): n for day, n in by_day.items()}
    township = (await registry.get("/api/v1/stats/overview", params={"region_code": "320413100"}, headers=OFFICIAL)).json()
    assert {k: township[k] for k in expected} == await rows_count(registry, "320413100")

    places = (await registry.get("/api/v1/stats/by-place", params={"region_code": "320413"}, headers=OFFICIAL)).json()
    got = {i["region_code"]: {"people": i["people"], **{c: n for c, n in i["by_color"].items() if n}} for i in places["children"] if i["people"]}
    assert got == await rows_by_child(registry, "320413")
    assert {i["region_code"]: i["name"] for i in places["children"]}.get("320413100") == "金城镇"

    # A recount from the rows (what migration 0015 does for people older than the streams) agrees.
    async with registry.app.state.sessionmaker() as session:
        await stats.recount(session=session, now=utcnow())
        await session.commit()
    again = (await registry.get("/api/v1/stats/overview", params={"region_code": "320413"}, headers=OFFICIAL)).json()
    assert again == answer


async def test_scope_and_bad_input(registry):
    assert (await registry.get("/api/v1/stats/overview", params={"region_code": "110101"}, headers=OFFICIAL)).status_code == 403
    bad = await registry.get("/api/v1/stats/overview", params={"region_code": "32041x"}, headers=OFFICIAL)
    assert bad.status_code == 422 and bad.json()["code"] == "region_code_invalid"
    mine = (await registry.get("/api/v1/stats/overview", headers=OFFICIAL)).json()
    assert mine["region_code"] == "320413" and mine["people"] == 0 and len(mine["positives_by_day"]) == 14
    everything = await registry.get("/api/v1/stats/overview", headers=ADMIN)
    assert everything.status_code == 200 and everything.json()["region_code"] is None


async def test_people_by_measure_and_overdue_test_and_a_persons_travel_records(registry, nats_server):
    """The console's people list filters (measure in force, overdue test), the masked name, and the file's travel."""
    today = local_date(utcnow())
    a, b, c = [await register(registry, headers=OFFICIAL) for _ in range(3)]
    for person, kind in ((a, "home_quarantine"), (b, "home_health_monitoring")):
        response = await registry.post(f"/api/v1/persons/{person['id']}/measures", headers=OFFICIAL,
                                       json={"kind": kind, "starts_on": today.isoformat(), "days": 7, "reason": "排查"})
        assert response.status_code == 201, response.text
    await publish(nats_server.url, testing.ScheduleOverdue(schedule_id=uuid.uuid4(), person_id=c["id"], region_code="320413",
                                                           measure_id=uuid.uuid4(), due_on=today - timedelta(days=1)))
    await settled(nats_server.url, registry)

    async def ids(**params) -> set[str]:
        response = await registry.get("/api/v1/persons", params=params, headers=OFFICIAL)
        assert response.status_code == 200, response.text
        return {p["id"] for p in response.json()["items"]}

    assert await ids(measure="home_quarantine") == {a["id"]}
    assert await ids(measure="home_health_monitoring", region_code="320413") == {b["id"]}
    assert await ids(overdue="true") == {c["id"]}
    assert await ids(overdue="false") == {a["id"], b["id"]}
    assert (await registry.get("/api/v1/persons", params={"measure": "curfew"}, headers=OFFICIAL)).status_code == 422
    listed = (await registry.get("/api/v1/persons", headers=OFFICIAL)).json()["items"]
    assert {p["name_masked"] for p in listed} == {"张*"}

    today_s = today.isoformat()
    pushed = await registry.post(
        "/api/v1/travel-records/batch", headers={**PARTNER, "content-type": "application/x-ndjson"},
        content="".join(
            f'{{"record_id": "r{i}", "phone": "{a["_phone"]}", "region_code": "42010{i}", "first_seen": "{today_s}", "last_seen": "{today_s}"}}\n'
            for i in range(1, 4)).encode(),
    )
    assert pushed.status_code == 200, pushed.text
    first = (await registry.get(f"/api/v1/persons/{a['id']}/travel-records", params={"limit": 2}, headers=OFFICIAL)).json()
    rest = (await registry.get(f"/api/v1/persons/{a['id']}/travel-records", params={"limit": 2, "cursor": first["next_cursor"]},
                               headers=OFFICIAL)).json()
    assert sorted(r["region_code"] for r in first["items"] + rest["items"]) == ["420101", "420102", "420103"]
    assert rest["next_cursor"] is None and {r["source"] for r in first["items"]} == {"partner"}
    assert (await registry.get(f"/api/v1/persons/{b['id']}/travel-records", headers=OFFICIAL)).json()["items"] == []
    elsewhere = bearer("official", regions=["110101"], username="official-bj")
    assert (await registry.get(f"/api/v1/persons/{a['id']}/travel-records", headers=elsewhere)).status_code == 404


async def test_people_older_than_the_read_model_are_counted_by_the_upgrade(databases):
    """A registry whose people were registered before the read model existed (no consumer fed it; their
    events long gone from the streams): migration 0015 counts them from the rows."""
    import asyncio

    from cordon import migrate
    from tests.serving import start_service

    url = await databases.new("registry")
    # Today's code runs on today's schema: the people are registered at the head, with no bus feeding the read
    # model; going down to 0014 and up again then runs 0015 over them, as an upgrade from before it would.
    await asyncio.to_thread(migrate.upgrade, "registry", url)
    today = local_date(utcnow())
    async with start_service("registry", databases, None, database_url=url, ticker_interval_s=0) as registry:
        people = [await register(registry, headers=OFFICIAL) for _ in range(4)]
        response = await registry.post(f"/api/v1/persons/{people[0]['id']}/measures", headers=OFFICIAL, json={
            "kind": "home_quarantine", "starts_on": today.isoformat(), "days": 7, "reason": "排查"})
        assert response.status_code == 201, response.text
        unfed = (await registry.get("/api/v1/stats/overview", params={"region_code": "320413"}, headers=OFFICIAL)).json()
        assert unfed["people"] == 0  # no bus: nothing reached the read model
    await asyncio.to_thread(migrate.downgrade, "registry", url, "registry_0014")
    await asyncio.to_thread(migrate.upgrade, "registry", url)
    async with start_service("registry", databases, None, database_url=url, ticker_interval_s=0) as registry:
        counted = (await registry.get("/api/v1/stats/overview", params={"region_code": "320413"}, headers=OFFICIAL)).json()
        expected = await rows_count(registry, "320413")
        assert {k: counted[k] for k in expected} == expected and counted["people"] == 4
        assert counted["measures_active"]["home_quarantine"] == 1
