"""Exposure detection through real JetStream: positives in, gatherings.exposure.detected out."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from cordon.clock import utcnow
from cordon.contracts import registry, testing
from tests.events.integration.helpers import GRID, file, id_number, iso, phone, publish, vault
from tests.serving import settled, stream_envelopes

API = "/api/v1/gatherings"


def result(index: str, outcome: str = "positive", collected_at=None, person_id=None, tested_at=None) -> testing.ResultRecorded:
    now = utcnow()
    return testing.ResultRecorded(
        sample_id=uuid.uuid4(), barcode=f"B{uuid.uuid4().hex[:8]}", person_id=person_id, id_number_index=index,
        outcome=outcome, collected_at=collected_at or now, tested_at=tested_at or now, lab="lab-1",
    )


async def exposures(url: str) -> list:
    return await stream_envelopes(url, "GATHERINGS", "gatherings.exposure.detected")


async def check_in(events, gathering_id: str, **who) -> None:
    response = await events.post(f"{API}/{gathering_id}/check-ins", json=who, headers=GRID)
    assert response.status_code == 201, response.text


async def test_a_positive_at_a_banquet_of_40_exposes_the_39_others_once(events, nats_server):
    now = utcnow()
    banquet = await file(events, kind="banquet", tables=6, expected_attendees=45,
                         starts_at=iso(now - timedelta(hours=1)), ends_at=iso(now + timedelta(hours=2)))
    guests = [id_number() for _ in range(40)]
    for guest in guests:
        await check_in(events, banquet["id"], id_number=guest)
    v = vault(events)
    positive = result(v.index("id_number", guests[7]), collected_at=utcnow() + timedelta(hours=3))

    first = await publish(nats_server.url, positive)
    await settled(nats_server.url, events)
    (found,) = await exposures(nats_server.url)
    exposure = found.event()
    assert found.subject == banquet["id"] and exposure.gathering_id == uuid.UUID(banquet["id"])
    assert exposure.positive_id_number_index == positive.id_number_index
    assert exposure.gathering_on.isoformat() == banquet["gathering_on"]
    others = {a.id_number_index for a in exposure.attendees}
    assert len(exposure.attendees) == 39
    assert others == {v.index("id_number", g) for g in guests} - {positive.id_number_index}

    again = await publish(nats_server.url, positive)  # the same positive, redelivered under another message id
    assert again.id != first.id
    await settled(nats_server.url, events)
    assert len(await exposures(nats_server.url)) == 1

    assert (await events.get(f"{API}/{banquet['id']}", headers=GRID)).json()["exposure"] is True


async def test_window_phone_links_and_outcomes(events, nats_server):
    v = vault(events)
    now = utcnow()
    person, person_phone = id_number(), phone()
    person_id = uuid.uuid4()
    collected = now - timedelta(hours=1)
    tested = collected + timedelta(hours=20)  # the result comes the next day
    start = iso(now - timedelta(days=6))
    long = {"starts_at": start, "ends_at": iso(now + timedelta(days=2))}
    at_dinner, at_meeting, long_ago, without, between, after = [(await file(events, **long))["id"] for _ in range(6)]
    others = {name: id_number() for name in ("dinner", "long_ago", "without", "between", "after")}
    meeting_guest_phone = phone()

    events.app.state.clock = lambda: collected - timedelta(days=4)  # the window's first moment
    await check_in(events, at_dinner, phone=person_phone)  # by phone, before the registry linked it
    await check_in(events, at_dinner, id_number=others["dinner"])
    events.app.state.clock = lambda: collected
    await check_in(events, at_meeting, id_number=person)
    await check_in(events, at_meeting, phone=meeting_guest_phone)
    events.app.state.clock = lambda: collected - timedelta(days=4, seconds=1)
    await check_in(events, long_ago, id_number=person)
    await check_in(events, long_ago, id_number=others["long_ago"])
    events.app.state.clock = lambda: collected - timedelta(days=1)
    await check_in(events, without, id_number=others["without"])
    events.app.state.clock = lambda: collected + timedelta(hours=8)  # after sampling, before the result
    await check_in(events, between, id_number=person)
    await check_in(events, between, id_number=others["between"])
    events.app.state.clock = lambda: tested + timedelta(seconds=1)
    await check_in(events, after, id_number=person)
    await check_in(events, after, id_number=others["after"])
    events.app.state.clock = utcnow

    index = v.index("id_number", person)
    await publish(nats_server.url, result(index, "negative", collected, tested_at=tested))
    await publish(nats_server.url, result(index, "pool_positive", collected, tested_at=tested))
    await settled(nats_server.url, events)
    assert await exposures(nats_server.url) == []

    await publish(nats_server.url, registry.PersonRegistered(
        person_id=person_id, region_code="320413", id_number_index=index, id_number_masked="x",
        phone_index=v.index("phone", person_phone)))
    await settled(nats_server.url, events)
    await publish(nats_server.url, result(index, "positive", collected, tested_at=tested))
    await settled(nats_server.url, events)
    sent = await exposures(nats_server.url)
    found = {e.event().gathering_id: e.event() for e in sent}
    assert len(sent) == 3 and set(found) == {uuid.UUID(at_dinner), uuid.UUID(at_meeting), uuid.UUID(between)}
    assert [a.id_number_index for a in found[uuid.UUID(between)].attendees] == [v.index("id_number", others["between"])]
    dinner, meeting = found[uuid.UUID(at_dinner)], found[uuid.UUID(at_meeting)]
    assert [a.id_number_index for a in dinner.attendees] == [v.index("id_number", others["dinner"])]
    assert dinner.positive_person_id == person_id  # from the projection: the result carried none
    assert [(a.id_number_index, a.phone_index) for a in meeting.attendees] == [(None, v.index("phone", meeting_guest_phone))]

    async def flag(gid):
        return (await events.get(f"{API}/{gid}", headers=GRID)).json()["exposure"]
    assert [await flag(g) for g in (at_dinner, at_meeting, long_ago, without, between, after)] == [
        True, True, False, False, True, False]


async def test_each_positive_person_is_one_exposure_of_a_gathering(events, nats_server):
    v = vault(events)
    g = (await file(events, starts_at=iso(utcnow() - timedelta(hours=1)), ends_at=iso(utcnow() + timedelta(hours=1))))["id"]
    a, b, c = id_number(), id_number(), id_number()
    for person in (a, b, c):
        await check_in(events, g, id_number=person)
    later = utcnow() + timedelta(minutes=5)
    await asyncio.gather(
        publish(nats_server.url, result(v.index("id_number", a), collected_at=later)),
        publish(nats_server.url, result(v.index("id_number", b), collected_at=later)),
        publish(nats_server.url, result(v.index("id_number", a), collected_at=later + timedelta(days=1))),  # a's next positive
    )
    await settled(nats_server.url, events)
    found = await exposures(nats_server.url)
    by_positive = {e.event().positive_id_number_index: e.event() for e in found}
    assert len(found) == 2 and set(by_positive) == {v.index("id_number", a), v.index("id_number", b)}
    assert {x.id_number_index for x in by_positive[v.index("id_number", a)].attendees} == {v.index("id_number", p) for p in (b, c)}
