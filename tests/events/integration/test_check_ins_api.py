"""Check-ins and the attendee list over real HTTP, on both databases."""

from __future__ import annotations

import asyncio
import uuid

from cordon import pii
from tests.events.integration.helpers import (
    ADMIN,
    GRID,
    LAB,
    OFFICIAL,
    OTHER_GRID,
    file,
    id_number,
    phone,
    resident,
    vault,
)

API = "/api/v1/gatherings"


async def test_check_in_by_id_number_or_phone_stored_blind_and_answered_masked(events):
    g = await file(events, expected_attendees=2)
    path = f"{API}/{g['id']}/check-ins"
    person, mobile = id_number(), phone()
    first = await events.post(path, json={"id_number": person.lower() if person.endswith("X") else person}, headers=GRID)
    assert first.status_code == 201, first.text
    assert first.json()["id_number_masked"] == pii.mask_id_number(person) and first.json()["phone_masked"] is None
    assert (first.json()["seq"], first.json()["over_capacity"], first.json()["repeat"]) == (1, False, False)
    second = await events.post(path, json={"phone": f"+86 {mobile}"}, headers=OFFICIAL)
    assert second.status_code == 201 and second.json()["phone_masked"] == pii.mask_phone(mobile)
    # The same person again: the first check-in, 200 and repeat=true, nothing counted twice.
    repeat = await events.post(path, json={"id_number": person}, headers=GRID)
    assert repeat.status_code == 200 and repeat.json()["id"] == first.json()["id"] and repeat.json()["repeat"] is True
    third = await events.post(path, json={"id_number": id_number()}, headers=GRID)
    assert (third.status_code, third.json()["seq"], third.json()["over_capacity"]) == (201, 3, True)
    read = (await events.get(f"{API}/{g['id']}", headers=GRID)).json()
    assert (read["checked_in"], read["over_capacity"]) == (3, True)

    attendees = (await events.get(f"{API}/{g['id']}/attendees", headers=GRID)).json()
    assert [a["seq"] for a in attendees["items"]] == [1, 2, 3] and attendees["next_cursor"] is None
    assert person not in str(attendees) and mobile not in str(attendees)
    assert vault(events).index("id_number", person) not in str(attendees)  # not even the blind index
    page = (await events.get(f"{API}/{g['id']}/attendees", params={"limit": 2}, headers=GRID)).json()
    rest = (await events.get(f"{API}/{g['id']}/attendees", params={"cursor": page["next_cursor"]}, headers=GRID)).json()
    assert [a["seq"] for a in page["items"] + rest["items"]] == [1, 2, 3]


async def test_bad_check_ins_are_refused_with_their_codes(events):
    g = await file(events)
    path = f"{API}/{g['id']}/check-ins"
    good = id_number()
    wrong_check = good[:17] + ("0" if good[17] != "0" else "1")

    async def refused(json, status, code, headers=GRID, url=path):
        response = await events.post(url, json=json, headers=headers)
        assert (response.status_code, response.json()["code"]) == (status, code), response.text

    await refused({"id_number": wrong_check}, 422, "id_number_invalid")
    await refused({"id_number": "12345"}, 422, "id_number_invalid")
    await refused({"phone": "0512-1234"}, 422, "phone_invalid")
    await refused({}, 422, "validation_error")
    await refused({"id_number": good, "phone": phone()}, 422, "validation_error")
    await refused({"id_number": good}, 404, "gathering_not_found", headers=OTHER_GRID)
    await refused({"id_number": good}, 404, "gathering_not_found", headers=resident(events, phone()))
    await refused({"id_number": good}, 403, "forbidden", headers=LAB)
    await refused({"id_number": good}, 404, "gathering_not_found", url=f"{API}/{uuid.uuid4()}/check-ins")
    assert (await events.get(f"{API}/{g['id']}/attendees", headers=OTHER_GRID)).status_code == 404
    assert (await events.get(f"{API}/{g['id']}/attendees", params={"cursor": "x"}, headers=GRID)).status_code == 400
    assert (await events.get(f"{API}/{g['id']}", headers=GRID)).json()["checked_in"] == 0

    await events.post(f"{API}/{g['id']}/cancel", headers=OFFICIAL)
    await refused({"id_number": good}, 409, "gathering_closed")


async def test_the_organiser_checks_in_their_own_guests(events):
    organizer_phone = phone()
    owner = resident(events, organizer_phone)
    g = await file(events, headers=owner, kind="family", expected_attendees=8, organizer={"name": "孙八", "phone": organizer_phone})
    response = await events.post(f"{API}/{g['id']}/check-ins", json={"phone": phone()}, headers=owner)
    assert response.status_code == 201
    listed = await events.get(f"{API}/{g['id']}/attendees", headers=owner)
    assert len(listed.json()["items"]) == 1
    assert (await events.post(f"{API}/{g['id']}/check-ins", json={"phone": phone()}, headers=ADMIN)).status_code == 201


async def test_a_crowd_arriving_at_once_is_numbered_once_each(events):
    g = await file(events, kind="banquet", tables=3, expected_attendees=25)
    path = f"{API}/{g['id']}/check-ins"
    people = [id_number() for _ in range(30)]
    doubles = people[:5]  # scanned twice at two doors
    answers = await asyncio.gather(*(events.post(path, json={"id_number": p}, headers=GRID) for p in people + doubles))
    assert all(a.status_code in (200, 201) for a in answers), [a.text for a in answers if a.status_code >= 300]
    assert sorted(a.status_code for a in answers).count(201) == 30
    created = [a.json() for a in answers if a.status_code == 201]
    assert sorted(c["seq"] for c in created) == list(range(1, 31))
    assert sum(c["over_capacity"] for c in created) == 5
    assert (await events.get(f"{API}/{g['id']}", headers=GRID)).json()["checked_in"] == 30


async def test_a_persons_gatherings_by_id_number_or_phone_latest_first_in_pages(events, nats_server):
    """GET /persons/{id}/gatherings (the person file): check-ins by either of the person's identifiers."""
    from cordon.contracts import registry
    from tests.events.integration.helpers import publish
    from tests.serving import settled

    person_id, person, mobile = uuid.uuid4(), id_number(), phone()
    v = vault(events)
    await publish(nats_server.url, registry.PersonRegistered(
        person_id=person_id, region_code="320413", id_number_index=v.index("id_number", person), id_number_masked="x",
        phone_index=v.index("phone", mobile)))
    await settled(nats_server.url, events)
    first, second, third, elsewhere = [await file(events, title=f"活动{i}") for i in range(4)]
    for g, who in ((first, {"id_number": person}), (second, {"phone": mobile}), (third, {"id_number": person}),
                   (elsewhere, {"id_number": id_number()})):
        response = await events.post(f"{API}/{g['id']}/check-ins", json=who, headers=GRID)
        assert response.status_code == 201, response.text
    path = f"/api/v1/persons/{person_id}/gatherings"
    page = (await events.get(path, params={"limit": 2}, headers=OFFICIAL)).json()
    rest = (await events.get(path, params={"limit": 2, "cursor": page["next_cursor"]}, headers=OFFICIAL)).json()
    assert [g["gathering_id"] for g in page["items"] + rest["items"]] == [third["id"], second["id"], first["id"]]
    assert rest["next_cursor"] is None and page["items"][0]["title"] == "活动2"
    assert (await events.get(path, headers=OTHER_GRID)).status_code == 404  # outside the caller's places
    unknown = await events.get(f"/api/v1/persons/{uuid.uuid4()}/gatherings", headers=OFFICIAL)
    assert unknown.status_code == 404 and unknown.json()["code"] == "person_not_found"
