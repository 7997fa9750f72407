"""The gate's negative proof answers as the ordinary route: on PostgreSQL through the driver (the fast path),
on SQLite through the ordinary route; every refusal (token, role, a resident asking about another, a bad
query or id) goes the ordinary way."""

from __future__ import annotations

import uuid
from datetime import timedelta

from services.testing.api.hot import ROUTES
from tests.testing.integration.helpers import ELSEWHERE, GRID, LAB, id_number, now, post_result, post_sample, register_person
from tests.tokens import bearer


async def _both_ways(testing, url: str, headers: dict):
    app = testing.app
    fast = await testing.get(url, headers=headers)
    pool, app.state.driver_pool = app.state.driver_pool, None
    try:
        plain = await testing.get(url, headers=headers)
    finally:
        app.state.driver_pool = pool
    assert fast.status_code == plain.status_code, (fast.text, plain.text)
    one, other = fast.json(), plain.json()
    one.pop("request_id", None), other.pop("request_id", None)
    assert one == other
    assert fast.headers.get("x-cordon-route") == plain.headers.get("x-cordon-route")  # metrics name the same route
    return fast


async def test_fast_negative_proof_answers_as_the_ordinary_route(testing, backend):
    on_postgres = backend == "postgres"
    assert (testing.app.state.driver_pool is not None) == on_postgres
    counter = ROUTES.counters["proof"]
    before = counter._value.get()
    number = id_number()
    person_id = await register_person(testing, number)
    collected = now() - timedelta(hours=3)
    await post_sample(testing, number=number, at=collected, tube="T-FAST")
    url = f"/api/v1/persons/{person_id}/negative-proof"
    me = bearer("resident", person_id=str(person_id))
    served = 0
    for headers in (ELSEWHERE, GRID, LAB, me):  # no result yet: not valid, nothing named
        assert (await _both_ways(testing, url, headers)).json()["valid"] is False
        served += 1
    await post_result(testing, tube="T-FAST")
    for query in ("", "?within_hours=48", "?within_hours=1", "?within_hours=2160"):
        for headers in (GRID, me):
            await _both_ways(testing, url + query, headers)
            served += 1
    testing.app.state.clock = lambda: collected + timedelta(hours=48)
    assert (await _both_ways(testing, url, GRID)).json()["valid"] is True
    testing.app.state.clock = lambda: collected + timedelta(hours=48, seconds=1)
    assert (await _both_ways(testing, url, GRID)).json() == {
        "valid": False, "collected_at": (await testing.get(url + "?within_hours=72", headers=GRID)).json()["collected_at"],
        "barcode": (await testing.get(url + "?within_hours=72", headers=GRID)).json()["barcode"], "within_hours": 48}
    served += 4
    # The ordinary answers of everything else: bad hours, other parameters, another resident, no token,
    # a role that may not ask, an unknown or malformed id.
    for query, headers, status in (("?within_hours=0", GRID, 422), ("?within_hours=99999", GRID, 422),
                                   ("?within_hours=x", GRID, 422), ("?within_hours=24&x=1", GRID, 200),
                                   ("", bearer("resident", person_id=str(uuid.uuid4())), 404), ("", {}, 401),
                                   ("", bearer("partner"), 403)):
        assert (await _both_ways(testing, url + query, headers)).status_code == status
    for other in (f"/api/v1/persons/{uuid.uuid4()}/negative-proof", "/api/v1/persons/nope/negative-proof"):
        assert (await _both_ways(testing, other, GRID)).status_code in (404, 422)
    assert counter._value.get() - before == (served if on_postgres else 0)
