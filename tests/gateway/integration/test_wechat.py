"""Mini-program sign-in at the gateway: the built-in stand-in, and a local fake of WeChat's code2session."""

from __future__ import annotations

import contextlib

import pytest
from aiohttp import web

from tests.gateway.integration.conftest import ADMIN_PASSWORD
from tests.gateway.integration.test_auth import _code_from_stream
from tests.serving import eventually, serve_aiohttp, start_service

PHONE = "13812345670"


async def resident_token(gateway, nats_url: str, phone: str = PHONE) -> str:
    assert (await gateway.post("/api/v1/auth/sms-code", json={"phone": phone})).status_code == 202
    code = await eventually(lambda: _code_from_stream(nats_url, gateway, phone))
    token = await gateway.post("/api/v1/auth/resident-token", json={"phone": phone, "code": code})
    assert token.status_code == 200, token.text
    return token.json()["access_token"]


async def test_stand_in_binds_once_and_signs_in_with_wechat_alone(gateway, nats_server):
    unbound = await gateway.post("/api/v1/auth/wechat-token", json={"code": "dev-alice"})
    assert unbound.status_code == 409 and unbound.json()["code"] == "wechat_unbound"
    invalid = await gateway.post("/api/v1/auth/wechat-token", json={"code": "guess"})
    assert invalid.status_code == 401 and invalid.json()["code"] == "wechat_code_invalid"
    assert (await gateway.post("/api/v1/auth/wechat-token", json={})).status_code == 422
    assert (await gateway.post("/api/v1/me/wechat", json={"code": "dev-alice"})).status_code == 401

    alice = {"Authorization": f"Bearer {await resident_token(gateway, nats_server.url)}"}
    bound = await gateway.post("/api/v1/me/wechat", json={"code": "dev-alice"}, headers=alice)
    assert bound.status_code == 200, bound.text
    again = await gateway.post("/api/v1/me/wechat", json={"code": "dev-alice"}, headers=alice)
    assert again.status_code == 200  # the same binding: nothing changes
    other_openid = await gateway.post("/api/v1/me/wechat", json={"code": "dev-alice2"}, headers=alice)
    assert other_openid.status_code == 409 and other_openid.json()["code"] == "wechat_bound"

    bob = {"Authorization": f"Bearer {await resident_token(gateway, nats_server.url, '13812345671')}"}
    stolen = await gateway.post("/api/v1/me/wechat", json={"code": "dev-alice"}, headers=bob)
    assert stolen.status_code == 409 and stolen.json()["code"] == "wechat_bound"

    signed_in = await gateway.post("/api/v1/auth/wechat-token", json={"code": "dev-alice"})
    assert signed_in.status_code == 200 and signed_in.json()["role"] == "resident"
    claims = gateway.app.state.tokens.decode(signed_in.json()["access_token"])
    first = gateway.app.state.tokens.decode(alice["Authorization"][7:])
    assert claims.phone_index == first.phone_index and claims.role == "resident"


class FakeWechat:
    """WeChat's code2session on loopback, answering as its documentation says (errcodes 40029, 45011, -1)."""

    APP_ID, SECRET = "wx-test-app", "test-app-secret"

    def __init__(self) -> None:
        self.requests: list[dict] = []

    async def code2session(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.requests.append(query)
        if query.get("appid") != self.APP_ID or query.get("secret") != self.SECRET or query.get("grant_type") != "authorization_code":
            return web.json_response({"errcode": 40125, "errmsg": "invalid appsecret"})
        code = query.get("js_code", "")
        if code.startswith("good-"):
            return web.json_response({"openid": "o-real-" + code.split("-", 2)[1], "session_key": "c2Vzc2lvbg=="})
        if code == "throttled":
            return web.json_response({"errcode": 45011, "errmsg": "api minute-quota reach limit"})
        if code == "busy":
            return web.json_response({"errcode": -1, "errmsg": "system error"})
        if code == "garbage":
            return web.Response(text="<html>bad gateway</html>", status=502)
        return web.json_response({"errcode": 40029, "errmsg": "invalid code"})


@contextlib.asynccontextmanager
async def fake_wechat():
    fake = FakeWechat()
    app = web.Application()
    app.router.add_get("/sns/jscode2session", fake.code2session)
    async with serve_aiohttp(app) as url:
        yield fake, f"{url}/sns/jscode2session"


@pytest.fixture
async def real_gateway(databases, nats_server, registry):
    async with fake_wechat() as (fake, url), start_service(
        "gateway", databases, nats_server.url, admin_password=ADMIN_PASSWORD,
        registry_url=str(registry.base_url).rstrip("/"), wechat_app_id=FakeWechat.APP_ID,
        wechat_app_secret=FakeWechat.SECRET, wechat_code2session_url=url, wechat_failures_per_minute=3,
    ) as client:
        yield client, fake


async def test_real_endpoint_codes_are_single_use_and_errors_are_mapped(real_gateway, nats_server):
    gateway, fake = real_gateway
    token = await resident_token(gateway, nats_server.url)
    headers = {"Authorization": f"Bearer {token}"}
    assert (await gateway.post("/api/v1/me/wechat", json={"code": "good-1-a"}, headers=headers)).status_code == 200
    assert fake.requests[-1] == {"appid": FakeWechat.APP_ID, "secret": FakeWechat.SECRET, "js_code": "good-1-a",
                                 "grant_type": "authorization_code"}
    signed_in = await gateway.post("/api/v1/auth/wechat-token", json={"code": "good-1-b"})
    assert signed_in.status_code == 200 and signed_in.json()["role"] == "resident"
    asked = len(fake.requests)
    replay = await gateway.post("/api/v1/auth/wechat-token", json={"code": "good-1-b"})
    assert replay.status_code == 401 and replay.json()["code"] == "wechat_code_invalid"
    assert len(fake.requests) == asked  # refused before WeChat was asked (it would have answered)

    throttled = await gateway.post("/api/v1/auth/wechat-token", json={"code": "throttled"})
    assert throttled.status_code == 429 and throttled.json()["code"] == "wechat_rate_limited"
    assert int(throttled.headers["retry-after"]) > 0
    for code in ("busy", "garbage"):
        down = await gateway.post("/api/v1/auth/wechat-token", json={"code": code})
        assert down.status_code == 503 and down.json()["code"] == "wechat_unavailable", down.text
    unbound = await gateway.post("/api/v1/auth/wechat-token", json={"code": "good-2-a"})
    assert unbound.status_code == 409 and unbound.json()["code"] == "wechat_unbound"

    # Wrong codes run out per client address (3 here, the replay above was the first), then 429
    # without asking WeChat.
    answers = [await gateway.post("/api/v1/auth/wechat-token", json={"code": f"wrong-{i}"}) for i in range(2)]
    assert [a.json()["code"] for a in answers] == ["wechat_code_invalid"] * 2
    asked = len(fake.requests)
    locked = await gateway.post("/api/v1/auth/wechat-token", json={"code": "good-1-c"})
    assert locked.status_code == 429 and locked.json()["code"] == "too_many_attempts"
    assert int(locked.headers["retry-after"]) > 0
    assert len(fake.requests) == asked
