"""Scheduled tests from registry measures (real NATS events), their fulfilment, and the daily run."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from cordon.clock import local_date
from cordon.contracts.registry import MeasureReleased
from tests.serving import eventually, settled
from tests.testing.integration.helpers import (
    ADMIN,
    ELSEWHERE,
    GRID,
    LAB,
    OFFICIAL,
    id_number,
    measure,
    now,
    post_result,
    post_sample,
    publish,
    published_events,
    register_person,
    vault,
)


async def schedules(client, status="due", headers=GRID, **params):
    response = await client.get("/api/v1/test-schedules", params={"status": status, **params}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_assigned_measure_schedules_tests_announced_once_each(testing):
    person_id = await register_person(testing, id_number())
    today = local_date(now())
    days = [today - timedelta(days=2), today, today + timedelta(days=3)]
    assigned = measure(person_id, days)
    await publish(testing.nats_url, assigned, assigned.measure_id)
    await settled(testing.nats_url, testing)
    due = await schedules(testing)
    assert [(s["due_on"], s["status"]) for s in due] == [(str(today), "due")]
    assert [s["due_on"] for s in await schedules(testing, "overdue")] == [str(days[0])]
    assert await schedules(testing, headers=ELSEWHERE) == []
    assert await schedules(testing, region_code="320400", headers=OFFICIAL)
    assert (await testing.get("/api/v1/test-schedules?region_code=110101", headers=GRID)).status_code == 404
    # Two replicas running at once, then a third time: each test is announced once.
    runs = await asyncio.gather(*(testing.post("/api/v1/test-schedules/run", headers=ADMIN) for _ in range(2)))
    counts = [r.json() for r in runs] + [(await testing.post("/api/v1/test-schedules/run", headers=ADMIN)).json()]
    assert sum(c["due"] for c in counts) == 1 and sum(c["overdue"] for c in counts) == 1
    assert (await testing.post("/api/v1/test-schedules/run", headers=GRID)).status_code == 403
    assert (await testing.post("/api/v1/test-schedules/run", headers=OFFICIAL)).status_code == 403  # operators' work
    due_events = await published_events(testing, "testing.schedule.due")
    overdue_events = await published_events(testing, "testing.schedule.overdue")
    assert [e["data"]["due_on"] for e in due_events] == [str(today)]
    assert [e["data"]["due_on"] for e in overdue_events] == [str(days[0])]


async def test_reassigned_days_replace_open_ones_and_release_cancels(testing):
    person_id = await register_person(testing, id_number())
    today = local_date(now())
    first = measure(person_id, [today, today - timedelta(days=1)])
    await publish(testing.nats_url, first, first.measure_id)
    await settled(testing.nats_url, testing)
    assert [s["due_on"] for s in await schedules(testing)] == [str(today)]
    moved = measure(person_id, [today - timedelta(days=1), today - timedelta(days=5)], measure_id=first.measure_id)
    await publish(testing.nats_url, moved, moved.measure_id)

    async def moved_days():
        overdue = {s["due_on"] for s in await schedules(testing, "overdue")}
        return overdue == {str(today - timedelta(days=1)), str(today - timedelta(days=5))} and not await schedules(testing)

    await eventually(moved_days)
    released = measure(person_id, [], measure_id=first.measure_id, cls=MeasureReleased, released_on=today, reason="解除")
    await publish(testing.nats_url, released, released.measure_id)
    await eventually(lambda: _none_overdue(testing))


async def _none_overdue(client):
    return not await schedules(client, "overdue")


async def test_sample_on_or_after_the_due_day_fulfils_it(testing):
    number = id_number()
    person_id = await register_person(testing, number)
    today = local_date(now())
    assigned = measure(person_id, [today - timedelta(days=3), today + timedelta(days=1)])
    await publish(testing.nats_url, assigned, assigned.measure_id)
    await settled(testing.nats_url, testing)
    assert [s["due_on"] for s in await schedules(testing, "overdue")] == [str(today - timedelta(days=3))]
    await post_sample(testing, number=number)  # today: fulfils the past day, not tomorrow's
    assert await schedules(testing, "overdue") == []
    testing.app.state.clock = lambda: now() + timedelta(days=1)
    assert [s["due_on"] for s in await schedules(testing)] == [str(today + timedelta(days=1))]
    assert (await testing.get("/api/v1/test-schedules", headers=LAB)).status_code == 403


async def test_a_high_risk_post_is_tested_every_other_day_while_the_tag_holds(testing):
    """The policy's periodic tests by tag: from the day the tag is seen, every other day; each test is due on
    its day, overdue the day after, fulfilled by a sample; dropping the tag cancels what is open. A test of a
    quarantine measure is announced as sampled at the door, a recurring one as at a sampling site."""
    from cordon.contracts.registry import PersonUpdated

    number = id_number()
    person_id = await register_person(testing, number, tags=["high_risk_post", "student"])
    plain = await register_person(testing, id_number(), tags=["student"])
    start = now()
    today = local_date(start)
    due = await schedules(testing)
    assert [(s["person_id"], s["due_on"], s["tag"]) for s in due] == [(str(person_id), str(today), "high_risk_post")]
    assert all(s["person_id"] != str(plain) for s in due)

    at_door = measure(person_id, [today], kind="home_quarantine")
    await publish(testing.nats_url, at_door, at_door.measure_id)
    await settled(testing.nats_url, testing)
    assert (await testing.post("/api/v1/test-schedules/run", headers=ADMIN)).json() == {"due": 2, "overdue": 0, "retests_overdue": 0}
    announced = {e["data"]["measure_id"]: e["data"] for e in await published_events(testing, "testing.schedule.due")}
    assert (announced[str(at_door.measure_id)]["at_door"], announced[str(at_door.measure_id)]["tag"]) == (True, None)
    (series,) = [d for d in announced.values() if d["tag"] == "high_risk_post"]
    assert series["at_door"] is False and series["due_on"] == str(today)

    # Two days on, without a sample: the first is overdue, the next due; a sample that day fulfils both.
    testing.app.state.clock = lambda: start + timedelta(days=2)
    assert (await testing.post("/api/v1/test-schedules/run", headers=ADMIN)).json() == {"due": 1, "overdue": 2, "retests_overdue": 0}
    assert [s["due_on"] for s in await schedules(testing) if s["tag"]] == [str(today + timedelta(days=2))]
    assert [s["due_on"] for s in await schedules(testing, "overdue") if s["tag"]] == [str(today)]
    await post_sample(testing, number=number, at=start + timedelta(days=2) - timedelta(minutes=5))
    assert not [s for s in await schedules(testing) + await schedules(testing, "overdue") if s["tag"]]
    testing.app.state.clock = lambda: start + timedelta(days=3)
    assert not [s for s in await schedules(testing) if s["tag"]]  # every other day: nothing on the third
    testing.app.state.clock = lambda: start + timedelta(days=4)
    assert [s["due_on"] for s in await schedules(testing) if s["tag"]] == [str(today + timedelta(days=4))]

    # The tag dropped: the open tests are cancelled and no new ones come.
    v = vault(testing)
    dropped = PersonUpdated(person_id=person_id, region_code="320413", id_number_index=v.index("id_number", number),
                            id_number_masked="x", tags=["student"])
    await publish(testing.nats_url, dropped, person_id)
    await eventually(lambda: _no_tag_tests(testing))
    testing.app.state.clock = lambda: start + timedelta(days=6)
    await testing.post("/api/v1/test-schedules/run", headers=ADMIN)
    assert not [s for s in await schedules(testing) + await schedules(testing, "overdue") if s["tag"]]
    testing.app.state.clock = now


async def _no_tag_tests(client) -> bool:
    return not [s for s in await schedules(client) if s["tag"]]


async def test_the_household_of_an_inbound_person_is_tested_with_their_last_home_quarantine_test(testing):
    """The "+1": cohabitants named by the measure get one test on its household day, sampled at the door;
    a release cancels theirs too."""
    person_id, mother, son = [await register_person(testing, id_number()) for _ in range(3)]
    today = local_date(now())
    quarantine = measure(person_id, [today], kind="home_quarantine", household=[mother, son], household_test_days=[today])
    await publish(testing.nats_url, quarantine, quarantine.measure_id)
    await settled(testing.nats_url, testing)
    due = await schedules(testing)
    assert sorted((s["person_id"], s["tag"]) for s in due) == sorted(
        [(str(person_id), None), (str(mother), "household"), (str(son), "household")])
    assert (await testing.post("/api/v1/test-schedules/run", headers=ADMIN)).json()["due"] == 3
    told = {e["data"]["person_id"]: e["data"] for e in await published_events(testing, "testing.schedule.due")}
    assert told[str(mother)]["at_door"] is True and told[str(son)]["tag"] == "household"
    # The son moves out: named no more, his test is cancelled; a release cancels the mother's.
    moved = measure(person_id, [today], kind="home_quarantine", household=[mother], household_test_days=[today],
                    measure_id=quarantine.measure_id)
    await publish(testing.nats_url, moved, moved.measure_id)

    async def without_son():
        return {s["person_id"] for s in await schedules(testing)} == {str(person_id), str(mother)}

    await eventually(without_son)
    released = measure(person_id, [], measure_id=quarantine.measure_id, cls=MeasureReleased, released_on=today, reason="解除")
    await publish(testing.nats_url, released, released.measure_id)

    async def none_left():
        return await schedules(testing) == []

    await eventually(none_left)


async def test_pool_positive_past_its_retest_deadline_is_told_once_unless_a_later_sample_came(testing):
    taken, tested = now() - timedelta(hours=20), now() - timedelta(hours=13)  # the retest was due an hour ago
    retested, waiting = id_number(), id_number()
    samples = [await post_sample(testing, number=n, tube="T-RETEST", at=taken) for n in (retested, waiting)]
    pooled = await post_result(testing, tube="T-RETEST", result="positive", tested_at=tested)
    assert {s["status"] for s in pooled.json()["samples"]} == {"pool_positive"}
    await post_sample(testing, number=retested, at=now() - timedelta(hours=2))  # a later sample: retested
    runs = [(await testing.post("/api/v1/test-schedules/run", headers=ADMIN)).json()["retests_overdue"] for _ in range(2)]
    assert runs == [1, 0]
    told = [e["data"]["sample_id"] for e in await published_events(testing, "testing.retest.overdue")]
    assert told == [samples[1]["id"]]
