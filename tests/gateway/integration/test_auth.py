"""Staff logins, users, partners and residents' SMS codes at the gateway."""

from __future__ import annotations

import nats
import orjson

from cordon import pii
from tests.gateway.integration.conftest import ADMIN_PASSWORD, admin_headers, login
from tests.serving import eventually


async def test_first_admin_logs_in_and_gets_a_verifiable_token(gateway):
    token = await login(gateway, "admin", ADMIN_PASSWORD)
    assert token["token_type"] == "bearer" and token["role"] == "admin" and token["expires_in"] > 0
    wrong = await gateway.post("/api/v1/auth/token", data={"username": "admin", "password": "nope"})
    assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_credentials"
    nobody = await gateway.post("/api/v1/auth/token", data={"username": "ghost", "password": "nope"})
    assert nobody.status_code == 401
    missing = await gateway.post("/api/v1/auth/token", data={"username": "admin"})
    assert missing.status_code == 422


async def test_admin_creates_users_who_then_log_in(gateway):
    headers = await admin_headers(gateway)
    body = {"username": "official-jt", "password": "a-long-password", "role": "official", "regions": ["320413"], "phone": "13900000001"}
    created = await gateway.post("/api/v1/auth/users", json=body, headers=headers)
    assert created.status_code == 201 and created.json()["phone_masked"] == "139****0001"
    assert (await gateway.post("/api/v1/auth/users", json=body, headers=headers)).json()["code"] == "user_exists"
    bad_region = await gateway.post("/api/v1/auth/users", json={**body, "username": "xx1", "regions": ["32"]}, headers=headers)
    assert bad_region.status_code == 422 and bad_region.json()["code"] == "region_code_invalid"
    no_region = await gateway.post("/api/v1/auth/users", json={**body, "username": "xx2", "regions": []}, headers=headers)
    assert no_region.json()["code"] == "regions_required"
    bad_role = await gateway.post("/api/v1/auth/users", json={**body, "username": "xx3", "role": "king"}, headers=headers)
    assert bad_role.status_code == 422
    official = await login(gateway, "official-jt", "a-long-password")
    assert official["role"] == "official" and official["regions"] == ["320413"]
    as_official = {"Authorization": f"Bearer {official['access_token']}"}
    assert (await gateway.post("/api/v1/auth/users", json={**body, "username": "xx4"}, headers=as_official)).status_code == 403
    assert (await gateway.get("/api/v1/auth/users", headers=as_official)).status_code == 403
    users = (await gateway.get("/api/v1/auth/users", headers=headers)).json()
    assert {u["username"] for u in users["items"]} == {"admin", "official-jt"} and users["next_cursor"] is None
    first = (await gateway.get("/api/v1/auth/users", params={"limit": 1}, headers=headers)).json()
    rest = (await gateway.get("/api/v1/auth/users", params={"cursor": first["next_cursor"]}, headers=headers)).json()
    assert [u["username"] for u in first["items"] + rest["items"]] == ["admin", "official-jt"]
    bad = await gateway.get("/api/v1/auth/users", params={"cursor": "99999999999999999999"}, headers=headers)
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_cursor"
    assert "password" not in orjson.dumps(users).decode()


async def test_sms_login_single_use_limited_and_rate_limited(gateway, nats_server):
    phone = "13812340000"
    assert (await gateway.post("/api/v1/auth/sms-code", json={"phone": "123"})).json()["code"] == "phone_invalid"
    sent = await gateway.post("/api/v1/auth/sms-code", json={"phone": phone})
    assert sent.status_code == 202
    again = await gateway.post("/api/v1/auth/sms-code", json={"phone": phone})
    assert again.status_code == 429 and int(again.headers["retry-after"]) > 0
    code = await eventually(lambda: _code_from_stream(nats_server.url, gateway, phone))
    wrong = await gateway.post("/api/v1/auth/resident-token", json={"phone": phone, "code": "000000" if code != "000000" else "111111"})
    assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_code"
    token = await gateway.post("/api/v1/auth/resident-token", json={"phone": phone, "code": code})
    assert token.status_code == 200 and token.json()["role"] == "resident"
    reused = await gateway.post("/api/v1/auth/resident-token", json={"phone": phone, "code": code})
    assert reused.status_code == 401


async def test_wrong_codes_run_out(gateway, nats_server):
    phone = "13812340001"
    await gateway.post("/api/v1/auth/sms-code", json={"phone": phone})
    code = await eventually(lambda: _code_from_stream(nats_server.url, gateway, phone))
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert (await gateway.post("/api/v1/auth/resident-token", json={"phone": phone, "code": wrong})).status_code == 401
    locked = await gateway.post("/api/v1/auth/resident-token", json={"phone": phone, "code": code})
    assert locked.status_code == 429 and locked.json()["code"] == "too_many_attempts"


async def _code_from_stream(url, gateway, phone):
    """The phone's latest code, as notify will read it: from auth.sms_code.requested, decrypted with the shared key."""
    s = gateway.app_settings
    vault = pii.Vault.from_hex(s.pii_index_key, s.pii_encryption_key)
    index = vault.index("phone", pii.normalize_phone(phone))
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        try:
            info = await js.stream_info("AUTH")
        except Exception:
            return None
        codes = []
        for seq in range(1, info.state.last_seq + 1):
            msg = await js.get_msg("AUTH", seq)
            if msg.subject == "auth.sms_code.requested":
                data = orjson.loads(msg.data)["data"]
                assert phone not in msg.data.decode()  # nothing in clear on the wire
                if data["phone_index"] == index:  # another test's phone may come after
                    codes.append(vault.decrypt(data["code_enc"]))
        return codes[-1] if codes else None
    finally:
        await nc.close()
