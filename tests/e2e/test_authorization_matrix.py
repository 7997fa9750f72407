"""Every route × every kind of caller, through the gateway with all services running.

The table below is the intended policy (docs/api.md). The test first checks that it names
exactly the routes of the merged OpenAPI document, so a new route cannot be left out; then
asks each route as each caller and expects 401 (no, bad or expired token), 403 (a role the
route is not for), 404 (another region's official, another resident, on a real resource) or
anything else (the caller may: a 2xx, or a 4xx about the request itself, never 401/403/5xx).
"""

from __future__ import annotations

import uuid

import orjson

from cordon import pii
from tests.e2e.stack import running_stack
from tests.serving import eventually, settled
from tests.tokens import token

ADMIN, OFFICIAL, GRID, LAB, RESIDENT, PARTNER = "admin", "official", "grid_worker", "lab", "resident", "partner"
STAFF = {ADMIN, OFFICIAL, GRID}
ALL_STAFF = STAFF | {LAB}

POLICY: dict[tuple[str, str], set[str]] = {
    # registry
    ("POST", "/api/v1/persons"): STAFF,
    ("GET", "/api/v1/persons"): STAFF,
    ("GET", "/api/v1/persons/lookup"): STAFF,
    ("GET", "/api/v1/persons/{person_id}"): STAFF,
    ("PATCH", "/api/v1/persons/{person_id}"): STAFF,
    ("GET", "/api/v1/persons/{person_id}/health-code"): STAFF,
    ("GET", "/api/v1/persons/{person_id}/travel-records"): STAFF,
    ("GET", "/api/v1/persons/{person_id}/gatherings"): STAFF,
    ("GET", "/api/v1/me"): {RESIDENT},
    ("GET", "/api/v1/me/health-code"): {RESIDENT},
    ("POST", "/api/v1/me/travel-declarations"): {RESIDENT},
    ("PUT", "/api/v1/risk-areas/{region_code}"): {ADMIN, OFFICIAL},
    ("GET", "/api/v1/risk-areas"): ALL_STAFF | {RESIDENT, PARTNER},
    ("POST", "/api/v1/travel-records/batch"): {PARTNER},
    ("GET", "/api/v1/persons/{person_id}/measures"): STAFF,
    ("POST", "/api/v1/persons/{person_id}/measures"): {ADMIN, OFFICIAL},
    ("POST", "/api/v1/measures/{measure_id}/release"): {ADMIN, OFFICIAL},
    ("POST", "/api/v1/persons/{person_id}/case"): {ADMIN, OFFICIAL},
    ("POST", "/api/v1/persons/{person_id}/case/discharge"): {ADMIN, OFFICIAL},
    ("POST", "/api/v1/measures/{measure_id}/follow-ups"): {GRID},
    ("GET", "/api/v1/policies/active"): ALL_STAFF,
    ("PUT", "/api/v1/policies/active"): {ADMIN},
    ("GET", "/api/v1/policies"): ALL_STAFF,
    ("PUT", "/api/v1/regions/{region_code}/roster"): {ADMIN, OFFICIAL},
    ("GET", "/api/v1/regions/{region_code}/roster"): {ADMIN, OFFICIAL},
    ("GET", "/api/v1/persons/{person_id}/responsible-staff"): STAFF,
    ("PUT", "/api/v1/persons/{person_id}/responsible-staff"): {ADMIN, OFFICIAL},
    ("GET", "/api/v1/follow-ups"): STAFF,
    ("POST", "/api/v1/daily-reports"): STAFF,
    ("GET", "/api/v1/daily-reports"): {ADMIN, OFFICIAL},
    ("GET", "/api/v1/daily-reports/draft"): STAFF,
    ("GET", "/api/v1/daily-reports/summary"): {ADMIN, OFFICIAL},
    ("GET", "/api/v1/daily-reports/export"): {ADMIN, OFFICIAL},
    ("GET", "/api/v1/persons/export"): {ADMIN, OFFICIAL},
    ("GET", "/api/v1/leads/export"): {ADMIN, OFFICIAL},
    ("GET", "/api/v1/audit"): {ADMIN},
    ("GET", "/api/v1/stats/overview"): STAFF,
    ("GET", "/api/v1/stats/by-place"): STAFF,
    ("GET", "/api/v1/regions"): ALL_STAFF | {RESIDENT, PARTNER},
    ("GET", "/api/v1/regions/{code}"): ALL_STAFF | {RESIDENT, PARTNER},
    ("PUT", "/api/v1/regions/{code}"): {ADMIN, OFFICIAL},
    ("POST", "/api/v1/regions/import"): {ADMIN},
    ("GET", "/api/v1/leads"): STAFF,
    ("GET", "/api/v1/leads/{lead_id}"): STAFF,
    ("POST", "/api/v1/leads/{lead_id}/assign"): {ADMIN, OFFICIAL},
    ("POST", "/api/v1/leads/{lead_id}/outcome"): STAFF,
    ("POST", "/api/v1/leads/import"): {ADMIN, OFFICIAL},
    ("GET", "/api/v1/me/health-code/pass"): {RESIDENT},
    ("POST", "/api/v1/health-code/verify"): ALL_STAFF,  # and a partner key with the gate scope
    # testing
    ("POST", "/api/v1/samples"): {LAB},
    ("POST", "/api/v1/samples/batch"): {LAB},
    ("POST", "/api/v1/results"): {LAB},
    ("POST", "/api/v1/results/batch"): {LAB},
    ("GET", "/api/v1/persons/{person_id}/tests"): ALL_STAFF | {RESIDENT},
    ("GET", "/api/v1/persons/{person_id}/negative-proof"): ALL_STAFF | {RESIDENT},
    ("GET", "/api/v1/me/tests"): {RESIDENT},
    ("GET", "/api/v1/me/negative-proof"): {RESIDENT},
    ("GET", "/api/v1/test-schedules"): STAFF,
    ("POST", "/api/v1/test-schedules/run"): {ADMIN},  # operators' work; the clockwork runs it daily
    # events
    ("POST", "/api/v1/gatherings"): STAFF | {RESIDENT},
    ("GET", "/api/v1/gatherings"): STAFF | {RESIDENT},
    ("GET", "/api/v1/gatherings/{gathering_id}"): STAFF | {RESIDENT},
    ("POST", "/api/v1/gatherings/{gathering_id}/approve"): {ADMIN, OFFICIAL},
    ("POST", "/api/v1/gatherings/{gathering_id}/reject"): {ADMIN, OFFICIAL},
    ("POST", "/api/v1/gatherings/{gathering_id}/cancel"): STAFF | {RESIDENT},
    ("POST", "/api/v1/gatherings/{gathering_id}/check-ins"): STAFF | {RESIDENT},
    ("GET", "/api/v1/gatherings/{gathering_id}/attendees"): STAFF | {RESIDENT},
    # notify
    ("GET", "/api/v1/me/notifications"): ALL_STAFF | {RESIDENT},
    ("POST", "/api/v1/me/notifications/{notification_id}/read"): ALL_STAFF | {RESIDENT},
    ("GET", "/api/v1/me/worklist"): {OFFICIAL, GRID},
    ("POST", "/api/v1/notifications/broadcast"): {ADMIN, OFFICIAL},
    ("GET", "/api/v1/notifications/broadcasts/{broadcast_id}"): {ADMIN, OFFICIAL},
    ("GET", "/api/v1/notifications"): {ADMIN, OFFICIAL},
    ("GET", "/api/v1/notifications/{notification_id}"): ALL_STAFF,
    ("POST", "/api/v1/notifications/{notification_id}/ack"): ALL_STAFF,
    # gateway (auth)
    ("POST", "/api/v1/auth/token"): {"anyone"},
    ("POST", "/api/v1/auth/sms-code"): {"anyone"},
    ("POST", "/api/v1/auth/resident-token"): {"anyone"},
    ("POST", "/api/v1/auth/users"): {ADMIN},
    ("GET", "/api/v1/auth/users"): {ADMIN},
    ("POST", "/api/v1/auth/partners"): {ADMIN},
    ("POST", "/api/v1/auth/wechat-token"): {"anyone"},
    ("POST", "/api/v1/me/wechat"): {RESIDENT},
    ("GET", "/.well-known/jwks.json"): {"anyone"},
}

# Routes on a real resource of region 320413: another region's official gets 404 there.
REGION_SCOPED = {
    ("GET", "/api/v1/persons/{person_id}"), ("PATCH", "/api/v1/persons/{person_id}"),
    ("GET", "/api/v1/persons/{person_id}/health-code"), ("GET", "/api/v1/persons/{person_id}/measures"),
    ("POST", "/api/v1/persons/{person_id}/measures"), ("GET", "/api/v1/persons/{person_id}/responsible-staff"),
    ("PUT", "/api/v1/persons/{person_id}/responsible-staff"), ("POST", "/api/v1/measures/{measure_id}/release"),
    ("POST", "/api/v1/persons/{person_id}/case"), ("POST", "/api/v1/persons/{person_id}/case/discharge"),
    ("GET", "/api/v1/persons/{person_id}/travel-records"),
    ("GET", "/api/v1/persons/{person_id}/tests"), ("GET", "/api/v1/gatherings/{gathering_id}"),
    ("POST", "/api/v1/gatherings/{gathering_id}/approve"), ("GET", "/api/v1/gatherings/{gathering_id}/attendees"),
    ("GET", "/api/v1/regions/{region_code}/roster"), ("PUT", "/api/v1/regions/{region_code}/roster"),
}
# Well-formed bodies where the region check comes after validation (an empty body would be 422 first).
BODIES = {
    ("POST", "/api/v1/measures/{measure_id}/release"): {"reason": "矩阵"},
    ("POST", "/api/v1/persons/{person_id}/measures"): {"rule": "close_contact", "exposure_date": "2030-01-01"},
    ("POST", "/api/v1/persons/{person_id}/case"): {"classification": "confirmed", "reviewed_at": "2026-01-01T08:00:00+08:00"},
    ("POST", "/api/v1/persons/{person_id}/case/discharge"): {"discharged_on": "2026-01-01"},
}
# Routes on a real resident's own data: another resident gets 404.
OWN_DATA = {("GET", "/api/v1/persons/{person_id}/tests"), ("GET", "/api/v1/persons/{person_id}/negative-proof")}


def id_number(serial: int) -> str:
    first17 = f"32041319800101{serial:03d}"
    return first17 + pii.id_check_character(first17)


async def test_every_route_for_every_caller(databases, nats_server, home):
    async with running_stack(databases, nats_server.url, home, rate_per_ip=100_000.0, rate_per_principal=100_000.0) as cordon:
        gw = cordon.gateway
        schema = (await gw.get("/openapi.json")).json()
        routes = {(m.upper(), p) for p, item in schema["paths"].items() for m in item if m in ("get", "post", "put", "patch", "delete")}
        assert routes == set(POLICY), f"not in the table: {routes - set(POLICY)}; stale: {set(POLICY) - routes}"

        s = cordon.registry.app_settings
        vault = pii.Vault.from_hex(s.pii_index_key, s.pii_encryption_key)
        mint = lambda role, **kw: {"Authorization": f"Bearer {token(role, home=home, **kw)}"}  # noqa: E731
        phone = "13811112222"
        callers = {
            ADMIN: mint(ADMIN, username="admin"),
            OFFICIAL: mint(OFFICIAL, regions=["320413"], username="o1"),
            GRID: mint(GRID, regions=["320413"], username="g1"),
            LAB: mint(LAB, username="l1"),
            RESIDENT: mint(RESIDENT, phone_index=vault.index("phone", phone)),
            PARTNER: mint(PARTNER, sub=str(uuid.uuid4())),
        }
        strangers = {
            "other_official": mint(OFFICIAL, regions=["110101"], username="o2"),
            "other_resident": mint(RESIDENT, phone_index=vault.index("phone", "13899998888")),
        }
        unauthenticated = {
            "none": {},
            "bad": {"Authorization": "Bearer not-a-token"},
            "expired": mint(OFFICIAL, regions=["320413"], ttl=-60),
        }

        # Real resources in 320413: a person (the resident), a measure, a gathering, a sample.
        person = (await gw.post("/api/v1/persons", json={"id_number": id_number(1), "name": "王五", "phone": phone, "region_code": "320413"}, headers=callers[GRID])).json()
        measure = (await gw.post(f"/api/v1/persons/{person['id']}/measures", json={"kind": "home_quarantine", "starts_on": "2030-01-01", "days": 7, "reason": "x"}, headers=callers[OFFICIAL])).json()["items"][0]
        await gw.put("/api/v1/regions/320413/roster", json={"grid_worker": "g1"}, headers=callers[OFFICIAL])
        gathering = (await gw.post("/api/v1/gatherings", json={
            "title": "会议", "kind": "meeting", "organizer": {"name": "赵", "phone": "13600001111"},
            "venue": {"address": "x", "region_code": "320413"}, "starts_at": "2030-01-01T09:00:00+08:00",
            "ends_at": "2030-01-01T11:00:00+08:00", "expected_attendees": 20}, headers=callers[GRID])).json()
        await gw.post("/api/v1/samples", json={"barcode": "M-1", "id_number": id_number(1), "site": "s",
                                               "collected_at": "2026-01-01T08:00:00+08:00"}, headers=callers[LAB])
        # Until testing knows the person, "no such person" (404) would pass both the allowed and the
        # refused checks: wait until it does (the admin reads its tests), and every service is settled.
        async def testing_knows_the_person():
            return (await gw.get(f"/api/v1/persons/{person['id']}/tests", headers=callers[ADMIN])).status_code == 200

        await eventually(testing_knows_the_person, timeout=30)
        await settled(nats_server.url, *cordon.services, timeout=60)
        ids = {"person_id": person["id"], "measure_id": measure["id"], "gathering_id": gathering["id"],
               "region_code": "320413", "code": "320413100", "notification_id": str(uuid.uuid4()), "broadcast_id": str(uuid.uuid4()),
               "lead_id": str(uuid.uuid4())}

        failures = []
        for method, template in sorted(POLICY):
            path = template.format(**ids)
            allowed = POLICY[(method, template)]

            async def call(headers):
                kwargs = {"headers": dict(headers)}
                if method in ("POST", "PUT", "PATCH"):
                    body = BODIES.get((method, template), {})
                    kwargs["content"], kwargs["headers"]["content-type"] = orjson.dumps(body), "application/json"
                return await gw.request(method, path, **kwargs)

            if allowed == {"anyone"}:
                status = (await call({})).status_code
                if status in (401, 403) or status >= 500:
                    failures.append((method, template, "anyone", status))
                continue
            for name, headers in unauthenticated.items():
                status = (await call(headers)).status_code
                if status != 401:
                    failures.append((method, template, name, status, "expected 401"))
            for role, headers in callers.items():
                status = (await call(headers)).status_code
                if role in allowed and (status in (401, 403) or status >= 500):
                    failures.append((method, template, role, status, "expected allowed"))
                if role not in allowed and status != 403:
                    failures.append((method, template, role, status, "expected 403"))
            if (method, template) in REGION_SCOPED and OFFICIAL in allowed:
                status = (await call(strangers["other_official"])).status_code
                if status != 404:
                    failures.append((method, template, "other_official", status, "expected 404"))
            if (method, template) in OWN_DATA:
                status = (await call(strangers["other_resident"])).status_code
                if status != 404:
                    failures.append((method, template, "other_resident", status, "expected 404"))
        assert not failures, "\n".join(map(str, failures))
