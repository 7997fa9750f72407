"""The door itself: routing to the registry, early rejection, partner keys, faults, limits, one OpenAPI."""

from __future__ import annotations

import re
from datetime import date

import orjson

from gateway import limits
from tests.gateway.integration.conftest import admin_headers
from tests.tokens import bearer

OFFICIAL = bearer("official", regions=["320413"], username="o")


async def test_routes_to_the_registry_with_request_id_and_security_headers(gateway):
    response = await gateway.get("/api/v1/risk-areas", headers={**OFFICIAL, "X-Request-ID": "trace-42"})
    assert response.status_code == 200 and response.json() == {"items": [], "next_cursor": None}
    assert response.headers["x-request-id"] == "trace-42"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers.get_list("x-request-id") == ["trace-42"]


async def test_rejects_early_without_a_good_token(gateway):
    missing = await gateway.get("/api/v1/persons")
    assert missing.status_code == 401 and missing.json()["code"] == "unauthenticated"
    assert missing.headers["content-type"] == "application/problem+json"
    forged = await gateway.get("/api/v1/persons", headers={"Authorization": "Bearer abc.def.ghi"})
    assert forged.json()["code"] == "token_invalid"
    expired = await gateway.get("/api/v1/persons", headers=bearer("official", regions=["320413"], ttl=-5))
    assert expired.json()["code"] == "token_expired"
    unknown = await gateway.get("/api/v1/no-such-thing", headers=OFFICIAL)
    assert unknown.status_code == 404


async def test_partner_key_opens_only_the_travel_push(gateway):
    headers = await admin_headers(gateway)
    created = (await gateway.post("/api/v1/auth/partners", json={"name": "运营商大数据"}, headers=headers)).json()
    key = created["api_key"]
    today = date.today().isoformat()  # travel counts near today (the policy's window)
    line = {"record_id": "p1", "phone": "13800000009", "region_code": "420106", "first_seen": today, "last_seen": today}
    pushed = await gateway.post(
        "/api/v1/travel-records/batch", content=orjson.dumps(line) + b"\n",
        headers={"X-API-Key": key, "content-type": "application/x-ndjson"},
    )
    assert pushed.status_code == 200 and pushed.json()["accepted"] == 1
    bad = await gateway.post("/api/v1/travel-records/batch", content=b"{}", headers={"X-API-Key": "ck_wrong", "content-type": "application/x-ndjson"})
    assert bad.status_code == 401 and bad.json()["code"] == "invalid_api_key"
    elsewhere = await gateway.get("/api/v1/persons", headers={"X-API-Key": key})
    assert elsewhere.status_code == 401


async def test_down_upstream_is_502_then_the_circuit_opens(gateway):
    for _ in range(5):
        response = await gateway.get("/api/v1/samples", headers=OFFICIAL)
        assert response.status_code == 502 and response.json()["code"] == "upstream_unreachable"
    opened = await gateway.get("/api/v1/samples", headers=OFFICIAL)
    assert opened.status_code == 503 and opened.json()["code"] == "upstream_unavailable"
    assert int(opened.headers["retry-after"]) >= 1
    # The registry's circuit is its own.
    assert (await gateway.get("/api/v1/risk-areas", headers=OFFICIAL)).status_code == 200


async def test_body_limits(gateway):
    big = b"x" * (1024 * 1024 + 1)
    response = await gateway.post("/api/v1/persons", content=big, headers={**OFFICIAL, "content-type": "application/json"})
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"


async def test_rate_limit_per_principal(gateway):
    gateway.app.state.principal_limit = limits.Limit("principal", 1, 3)
    headers = bearer("official", regions=["320413"], sub="busy-official")
    statuses = [(await gateway.get("/api/v1/risk-areas", headers=headers)).status_code for _ in range(5)]
    assert statuses[:3] == [200, 200, 200] and statuses[-1] == 429


async def test_one_openapi_document(gateway):
    doc = (await gateway.get("/openapi.json")).json()
    assert "/api/v1/persons" in doc["paths"] and "/api/v1/auth/token" in doc["paths"]
    assert "/api/v1/travel-records/batch" in doc["paths"]
    assert set(doc["info"]["x-missing-services"]) == {"testing", "events", "notify"}
    assert doc["paths"]["/api/v1/persons"]["get"]["operationId"] == "persons_list_persons"
    for page in ("/docs", "/redoc"):  # served with their assets from here: no CDN, no internet needed
        html = (await gateway.get(page)).text
        assert "/openapi.json" in html and "//cdn" not in html and "https://" not in html
        for asset in re.findall(r"(?:src|href)=[\"']([^\"']+)[\"']", html):
            assert (await gateway.get(asset)).status_code == 200, asset


async def test_the_gateways_own_problems_follow_accept_language(gateway):
    zh = (await gateway.get("/api/v1/persons")).json()
    en = (await gateway.get("/api/v1/persons", headers={"Accept-Language": "en"})).json()
    assert zh["code"] == en["code"] == "unauthenticated"
    assert (zh["title"], zh["detail"]) == ("未通过身份认证", "请先登录：需要有效的访问令牌。")
    assert (en["title"], en["detail"]) == ("Unauthorized", "A bearer token is required.")
    nowhere = (await gateway.get("/api/v1/nowhere", headers=OFFICIAL)).json()
    assert (nowhere["code"], nowhere["detail"]) == ("not_found", "请求的接口不存在。")
