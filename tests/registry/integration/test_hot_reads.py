"""The hot routes answer exactly as the ordinary ones: on PostgreSQL through the driver and the read model,
on SQLite through the ordinary routes; every refusal (token, role, region, body) goes the ordinary way."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

from services.registry.api.hot import ROUTES
from tests.registry.integration.people import ADMIN, GRID, OFFICIAL, register
from tests.tokens import bearer

OTHER_COUNTY = bearer("grid_worker", regions=["320412"], username="grid-far")
TWO_COUNTIES = bearer("official", regions=["320412", "320413"], username="official-two")
CITY = bearer("official", regions=["320400"], username="official-city")
LAB = bearer("lab", regions=["320413"], username="lab-1")
GATE = bearer("partner", sub="gate-1", scopes=["gate"])
PUSHER = bearer("partner", sub="telecom-1", scopes=["travel_records"])


def _answered(kind: str) -> float:
    return ROUTES.counters[kind]._value.get()


async def _both_ways(registry, method: str, path: str, **kwargs):
    """The answer with the hot layer on, then with it off (the ordinary routes alone)."""
    app = registry.app
    hot = await registry.request(method, path, **kwargs)
    reads, app.state.hot_reads = app.state.hot_reads, None
    try:
        plain = await registry.request(method, path, **kwargs)
    finally:
        app.state.hot_reads = reads
    return hot, plain


def _same(hot, plain) -> None:
    assert hot.status_code == plain.status_code, (hot.text, plain.text)
    assert hot.headers["content-type"] == plain.headers["content-type"]
    body = hot.json()
    if isinstance(body, dict):
        body.pop("request_id", None)
        other = plain.json()
        other.pop("request_id", None)
        assert body == other
    assert hot.headers.get("x-request-id")
    # Metrics and logs name the route a hot answer came from as they name the ordinary route's.
    assert hot.headers.get("x-cordon-route") == plain.headers.get("x-cordon-route")


async def test_hot_routes_answer_as_the_ordinary_ones(registry, backend):
    on_postgres = backend == "postgres"
    assert (registry.app.state.hot_reads is not None) == on_postgres
    green = await register(registry, name="王五")
    red = await register(registry, name="李四")
    turned = await registry.post(f"/api/v1/persons/{red['id']}/measures",
                                 json={"rule": "close_contact", "exposure_date": date.today().isoformat()}, headers=OFFICIAL)
    assert turned.status_code == 201, turned.text

    before = _answered("code")
    for person in (green, red):
        path = f"/api/v1/persons/{person['id']}/health-code"
        for headers in (GRID, OFFICIAL, CITY, TWO_COUNTIES, ADMIN):
            hot, plain = await _both_ways(registry, "GET", path, headers=headers)
            assert hot.status_code == 200
            _same(hot, plain)
            assert hot.content == plain.content  # the very bytes the response model makes
        # Refusals: not visible, wrong role, no token, a bad token: the ordinary answers (404, 403, 401).
        for headers, status in ((OTHER_COUNTY, 404), (LAB, 403), ({}, 401), ({"Authorization": "Bearer nope"}, 401)):
            hot, plain = await _both_ways(registry, "GET", path, headers=headers)
            assert hot.status_code == status
            _same(hot, plain)
    assert (await registry.get(f"/api/v1/persons/{red['id']}/health-code", headers=GRID)).json()["color"] == "red"
    for path in (f"/api/v1/persons/{uuid.uuid4()}/health-code", "/api/v1/persons/not-a-uuid/health-code"):
        hot, plain = await _both_ways(registry, "GET", path, headers=OFFICIAL)
        assert hot.status_code in (404, 422)
        _same(hot, plain)
    assert _answered("code") - before == (11 if on_postgres else 0)  # the successes, and only they

    # A resident: their own code, and their pass.
    resident = bearer("resident", sub=f"r-{red['id']}", person_id=red["id"])
    before = _answered("me"), _answered("pass")
    hot, plain = await _both_ways(registry, "GET", "/api/v1/me/health-code", headers=resident)
    assert hot.status_code == 200 and hot.content == plain.content
    stranger = bearer("resident", sub="r-nobody", person_id=str(uuid.uuid4()))
    hot, plain = await _both_ways(registry, "GET", "/api/v1/me/health-code", headers=stranger)
    assert hot.status_code == 404 and hot.json()["code"] == "person_not_registered"
    _same(hot, plain)
    issued, plain = await _both_ways(registry, "GET", "/api/v1/me/health-code/pass", headers=resident)
    assert issued.status_code == plain.status_code == 200
    shown, other = issued.json(), plain.json()
    assert set(shown) == set(other) == {"token", "color", "expires_at"}
    assert shown["color"] == other["color"] == "red" and shown["expires_at"].endswith("Z")
    hot, plain = await _both_ways(registry, "GET", "/api/v1/me/health-code/pass", headers=stranger)
    assert hot.status_code == 404
    _same(hot, plain)
    assert (_answered("me") - before[0], _answered("pass") - before[1]) == ((1, 1) if on_postgres else (0, 0))

    # The gate: each pass verified both ways, the answers equal; refusals and bad bodies the ordinary way.
    before = _answered("verify")
    for token in (shown["token"], other["token"], shown["token"][:-4], "not a token"):
        for headers in (GATE, OFFICIAL):
            hot, plain = await _both_ways(registry, "POST", "/api/v1/health-code/verify", json={"token": token}, headers=headers)
            assert hot.status_code == 200
            _same(hot, plain)
    verdict = (await registry.post("/api/v1/health-code/verify", json={"token": shown["token"]}, headers=GATE)).json()
    assert verdict == {"valid": True, "color": "red", "name_masked": "李*", "expires_at": shown["expires_at"]}
    for body, headers, status in (({"token": shown["token"]}, PUSHER, 403), ({"token": shown["token"]}, resident, 403),
                                  ({"token": shown["token"]}, {}, 401), ({"token": ""}, GATE, 422),
                                  ({"token": shown["token"], "more": 1}, GATE, 422), ([shown["token"]], GATE, 422),
                                  ({"token": "x" * 5000}, GATE, 422)):
        hot, plain = await _both_ways(registry, "POST", "/api/v1/health-code/verify", json=body, headers=headers)
        assert hot.status_code == status
        _same(hot, plain)
    hot, plain = await _both_ways(registry, "POST", "/api/v1/health-code/verify", content=b"{not json",
                                  headers={**GATE, "Content-Type": "application/json"})
    assert hot.status_code == 400
    _same(hot, plain)
    assert _answered("verify") - before == (9 if on_postgres else 0)

    # A colour change reaches the hot answers at once (the same transaction wrote the read model).
    released = await registry.get(f"/api/v1/persons/{red['id']}/measures", headers=OFFICIAL)
    for m in released.json()["items"]:
        assert (await registry.post(f"/api/v1/measures/{m['id']}/release", json={"reason": "核实解除"},
                                    headers=OFFICIAL)).status_code == 200
    assert (await registry.get(f"/api/v1/persons/{red['id']}/health-code", headers=GRID)).json()["color"] == "green"
    assert (await registry.get("/api/v1/me/health-code", headers=resident)).json()["color"] == "green"
    superseded = await registry.post("/api/v1/health-code/verify", json={"token": shown["token"]}, headers=GATE)
    assert superseded.json() == {"valid": False, "reason": "superseded"}


async def test_a_verify_body_over_the_fast_paths_limit_is_answered_at_once(registry):
    """A body longer than the fast path reads (8 KiB), sent whole: the ordinary route answers it at once
    (it waited for more body than the client would send, until the client gave up)."""
    for size in (9_000, 70_000):
        answer = await asyncio.wait_for(
            registry.post("/api/v1/health-code/verify", json={"token": "x" * size}, headers=GATE), 10)
        assert answer.status_code == 422 and answer.json()["code"] == "validation_error", answer.text
