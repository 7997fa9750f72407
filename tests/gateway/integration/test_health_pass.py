"""Through the gateway: a resident signs in with WeChat, shows a pass; staff and gates verify it; scanners use the JWKS."""

from __future__ import annotations

import base64
import time
import uuid
from datetime import date

import jwt
import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.gateway.integration.conftest import admin_headers
from tests.gateway.integration.test_wechat import resident_token
from tests.registry.integration.people import GRID, OFFICIAL, register
from tests.tokens import bearer


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(data)).rstrip(b"=").decode()


async def verify(gateway, token: str, headers=OFFICIAL) -> dict:
    response = await gateway.post("/api/v1/health-code/verify", json={"token": token}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_wechat_resident_shows_a_pass_that_staff_gates_and_scanners_verify(gateway, registry, nats_server):
    person = await register(gateway, headers=GRID, name="张小明")
    alice = {"Authorization": f"Bearer {await resident_token(gateway, nats_server.url, person['_phone'])}"}
    assert (await gateway.post("/api/v1/me/wechat", json={"code": "dev-zhang"}, headers=alice)).status_code == 200
    signed_in = await gateway.post("/api/v1/auth/wechat-token", json={"code": "dev-zhang"})
    assert signed_in.status_code == 200
    resident = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}

    issued = await gateway.get("/api/v1/me/health-code/pass", headers=resident)
    assert issued.status_code == 200, issued.text
    shown = issued.json()
    assert shown["color"] == "green" and shown["expires_at"]
    assert await verify(gateway, shown["token"]) == {
        "valid": True, "color": "green", "name_masked": "张*明", "expires_at": shown["expires_at"]}

    # A gate device: a partner key with the gate scope; a travel-push key does not open verification.
    admin = await admin_headers(gateway)
    gate = (await gateway.post("/api/v1/auth/partners", json={"name": "东门闸机", "scopes": ["gate"], "regions": ["320413"]},
                               headers=admin)).json()
    assert gate["scopes"] == ["gate"] and gate["regions"] == ["320413"]
    assert (await verify(gateway, shown["token"], headers={"X-API-Key": gate["api_key"]}))["valid"] is True
    telecom = (await gateway.post("/api/v1/auth/partners", json={"name": "telecom"}, headers=admin)).json()
    assert telecom["scopes"] == ["travel_records"]
    refused = await gateway.post("/api/v1/health-code/verify", json={"token": shown["token"]}, headers={"X-API-Key": telecom["api_key"]})
    assert refused.status_code == 403 and refused.json()["code"] == "scope_missing"
    pushed = await gateway.post("/api/v1/travel-records/batch", content=b"", headers={"X-API-Key": gate["api_key"],
                                                                                     "Content-Type": "application/x-ndjson"})
    assert pushed.status_code == 403 and pushed.json()["code"] == "scope_missing"
    assert (await gateway.post("/api/v1/health-code/verify", json={"token": shown["token"]}, headers=resident)).status_code == 403
    assert (await gateway.post("/api/v1/health-code/verify", json={"token": shown["token"]})).status_code == 401
    bad_scope = await gateway.post("/api/v1/auth/partners", json={"name": "x", "scopes": ["root"]}, headers=admin)
    assert bad_scope.status_code == 422

    # A scanner offline: the published keys alone verify the pass, with PyJWT.
    keys = await gateway.get("/.well-known/jwks.json")
    assert keys.status_code == 200 and keys.headers["content-type"].startswith("application/json")
    keyset = jwt.PyJWKSet.from_dict(keys.json())
    kid = jwt.get_unverified_header(shown["token"])["kid"]
    claims = jwt.decode(shown["token"], keyset[kid].key, algorithms=["EdDSA"], audience="cordon-health-pass")
    assert claims["color"] == "green" and claims["name"] == "张*明" and claims["sub"] == person["id"]
    assert set(claims) == {"iss", "aud", "sub", "color", "name", "ver", "iat", "exp", "jti"}  # nothing more about the person

    # Bad passes: never a 500, always a reason.
    header, payload, signature = shown["token"].split(".")
    body = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    tampered = f"{header}.{_b64({**body, 'color': 'green', 'ver': body['ver'] + 5})}.{signature}"
    assert await verify(gateway, tampered) == {"valid": False, "reason": "bad_signature"}
    assert (await verify(gateway, shown["token"][:-10]))["reason"] == "bad_signature"
    assert (await verify(gateway, shown["token"][: len(header) + 5]))["reason"] == "malformed"
    assert (await verify(gateway, "not a token"))["reason"] == "malformed"
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{payload}."
    assert (await verify(gateway, unsigned))["reason"] == "algorithm_not_allowed"
    forger = Ed25519PrivateKey.generate()
    same_kid = jwt.encode(body, forger, algorithm="EdDSA", headers={"kid": kid})
    assert (await verify(gateway, same_kid))["reason"] == "bad_signature"
    other_kid = jwt.encode(body, forger, algorithm="EdDSA", headers={"kid": "20990101T000000Z-ffffff"})
    assert (await verify(gateway, other_kid))["reason"] == "unknown_key"
    hmac_pass = jwt.encode(body, "a-guessed-secret-of-thirty-two-bytes", algorithm="HS256", headers={"kid": kid})
    assert (await verify(gateway, hmac_pass))["reason"] == "algorithm_not_allowed"
    signing = registry.app.state.pass_keys.signing(time.time())
    expired = jwt.encode({**body, "exp": int(time.time()) - 120}, signing.private, algorithm="EdDSA", headers={"kid": signing.kid})
    assert (await verify(gateway, expired))["reason"] == "expired"
    stranger = jwt.encode({**body, "sub": str(uuid.uuid4())}, signing.private, algorithm="EdDSA", headers={"kid": signing.kid})
    assert (await verify(gateway, stranger))["reason"] == "unknown_person"
    for junk in ({"token": ""}, {"token": 5}, {}, {"token": "x" * 5000}):
        assert (await gateway.post("/api/v1/health-code/verify", json=junk, headers=OFFICIAL)).status_code == 422

    # A colour change supersedes the passes issued before it, online, at once.
    turned = await gateway.post(f"/api/v1/persons/{person['id']}/measures",
                                json={"rule": "close_contact", "exposure_date": date.today().isoformat()}, headers=OFFICIAL)
    assert turned.status_code == 201, turned.text
    assert await verify(gateway, shown["token"]) == {"valid": False, "reason": "superseded"}
    fresh = (await gateway.get("/api/v1/me/health-code/pass", headers=resident)).json()
    assert fresh["color"] == "red"
    assert (await verify(gateway, fresh["token"]))["color"] == "red"


async def test_a_resident_not_registered_gets_no_pass(gateway, nats_server):
    stranger = {"Authorization": f"Bearer {await resident_token(gateway, nats_server.url, '13812345679')}"}
    answer = await gateway.get("/api/v1/me/health-code/pass", headers=stranger)
    assert answer.status_code == 404 and answer.json()["code"] == "person_not_registered"
    assert (await gateway.get("/api/v1/me/health-code/pass", headers=bearer("official", regions=["320413"]))).status_code == 403
