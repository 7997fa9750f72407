"""SMS through Alibaba Cloud's and Tencent Cloud's APIs (local fakes that check each request's signature),
WeChat subscription messages, quiet hours and the daily cap, in the running notify service."""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime, timedelta
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import aiohttp
import orjson
from aiohttp import web
from sqlalchemy import select

from cordon.clock import utcnow
from cordon.contracts import auth, testing
from cordon.policy import QuietHours
from services.notify.domain import pacing
from services.notify.models import Notification, WechatRef
from services.notify.service.channels import Message
from services.notify.service.providers import aliyun, tencent, wechat
from tests.notify.integration.conftest import notify_service, projected, publish, set_policy, vault
from tests.notify.integration.people import REGION, person_registered
from tests.notify.integration.test_triggers import listed
from tests.serving import eventually, serve_aiohttp

BAD_PHONE = "13900000000"


class FakeProviders:
    """Alibaba Cloud, Tencent Cloud and WeChat on loopback: each request's signature is checked as the provider would."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict]] = []
        self.tokens_issued = 0
        self.expire_next_token_use = False

    async def aliyun(self, request: web.Request) -> web.Response:
        form = dict(parse_qsl(await request.text(), keep_blank_values=True))
        signature = form.pop("Signature", "")
        if signature != aliyun.signature("ali-secret", "POST", form) or form["AccessKeyId"] != "ali-id":
            return web.json_response({"Code": "SignatureDoesNotMatch", "Message": "bad signature"}, status=400)
        self.received.append(("aliyun", form))
        if form["PhoneNumbers"] == BAD_PHONE:
            return web.json_response({"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "invalid number"})
        return web.json_response({"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0", "RequestId": "r"})

    async def tencent(self, request: web.Request) -> web.Response:
        payload = await request.text()
        expected = tencent.authorization(secret_id="tc-id", secret_key="tc-key", service="sms", host=request.headers["Host"],
                                         payload=payload, timestamp=int(request.headers["X-TC-Timestamp"]))
        if request.headers.get("Authorization") != expected or request.headers.get("X-TC-Action") != "SendSms":
            return web.json_response({"Response": {"Error": {"Code": "AuthFailure.SignatureFailure", "Message": "bad"}}})
        body = orjson.loads(payload)
        self.received.append(("tencent", body))
        code = "InvalidParameterValue.IncorrectPhoneNumber" if body["PhoneNumberSet"] == [f"+86{BAD_PHONE}"] else "Ok"
        return web.json_response({"Response": {"SendStatusSet": [{"Code": code, "Message": code, "SerialNo": "s"}],
                                               "RequestId": "r"}})

    async def wechat_token(self, request: web.Request) -> web.Response:
        q = request.query
        if (q.get("grant_type"), q.get("appid"), q.get("secret")) != ("client_credential", "wx-app", "wx-secret"):
            return web.json_response({"errcode": 40125, "errmsg": "invalid appsecret"})
        self.tokens_issued += 1
        return web.json_response({"access_token": f"token-{self.tokens_issued}", "expires_in": 7200})

    async def wechat_send(self, request: web.Request) -> web.Response:
        if request.query.get("access_token") != f"token-{self.tokens_issued}" or self.expire_next_token_use:
            self.expire_next_token_use = False
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        body = await request.json()
        self.received.append(("wechat", body))
        if body["touser"] == "o-unknown":
            return web.json_response({"errcode": 40003, "errmsg": "invalid openid"})
        if body["touser"] == "o-refused":
            return web.json_response({"errcode": 43101, "errmsg": "user refuse to accept the msg"})
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": 1})


@contextlib.asynccontextmanager
async def fake_providers():
    fake = FakeProviders()
    app = web.Application()
    app.router.add_post("/aliyun/", fake.aliyun)
    app.router.add_post("/tencent/", fake.tencent)
    app.router.add_get("/wechat/cgi-bin/token", fake.wechat_token)
    app.router.add_post("/wechat/cgi-bin/message/subscribe/send", fake.wechat_send)
    async with serve_aiohttp(app) as url:
        yield fake, url


PROVIDERS = {
    "aliyun": lambda url: dict(sms_provider="aliyun", sms_sign_name="某市防疫", aliyun_access_key_id="ali-id",
                               aliyun_access_key_secret="ali-secret", aliyun_sms_endpoint=f"{url}/aliyun/"),
    "tencent": lambda url: dict(sms_provider="tencent", sms_sign_name="某市防疫", tencent_secret_id="tc-id",
                                tencent_secret_key="tc-key", tencent_sms_sdk_app_id="1400000001",
                                tencent_sms_endpoint=f"{url}/tencent/"),
}


async def _login_codes_through(provider: str, databases, nats_server, tmp_path):
    async with fake_providers() as (fake, url), notify_service(
        databases, nats_server.url, tmp_path / "home", **PROVIDERS[provider](url)
    ) as notify:
        v = vault(notify)
        phones = ["13912340001", BAD_PHONE]
        await publish(nats_server.url, *[
            auth.SmsCodeRequested(phone_index=v.index("phone", p), phone_enc=v.encrypt(p), code_enc=v.encrypt("424242"),
                                  expires_at=utcnow() + timedelta(minutes=5)) for p in phones])

        async def settled():
            items = await listed(notify, kind="login_code")
            return items if len(items) == 2 and all(i["status"] in ("sent", "failed") for i in items) else None
        items = {i["recipient"]: i for i in await eventually(settled)}
        good, bad = items[v.index("phone", phones[0])], items[v.index("phone", BAD_PHONE)]
        assert good["status"] == "sent" and good["attempts"] == 1
        assert bad["status"] == "failed" and bad["attempts"] == 1 and bad["last_error"].startswith(f"bad_number: {provider}")
        assert not (tmp_path / "home" / "outbox" / "sms.jsonl").exists()  # nothing went to the sink
        return fake.received


async def test_aliyun_sms_is_signed_and_sent_as_sign_name_template_and_parameters(databases, nats_server, tmp_path):
    received = await _login_codes_through("aliyun", databases, nats_server, tmp_path)
    sent = next(form for name, form in received if form["PhoneNumbers"] != BAD_PHONE)
    assert sent["Action"] == "SendSms" and sent["SignName"] == "某市防疫" and sent["TemplateCode"] == "SMS_200000010"
    assert orjson.loads(sent["TemplateParam"]) == {"code": "424242"} and sent["SignatureMethod"] == "HMAC-SHA1"


async def test_tencent_sms_is_signed_and_sent_as_sign_name_template_and_parameters(databases, nats_server, tmp_path):
    received = await _login_codes_through("tencent", databases, nats_server, tmp_path)
    sent = next(body for name, body in received if body["PhoneNumberSet"] != [f"+86{BAD_PHONE}"])
    assert sent["PhoneNumberSet"] == ["+8613912340001"] and sent["SignName"] == "某市防疫"
    assert sent["TemplateId"] == "1900010" and sent["TemplateParamSet"] == ["424242"] and sent["SmsSdkAppId"] == "1400000001"


async def test_wechat_subscription_messages_by_openid_with_a_cached_access_token():
    async with fake_providers() as (fake, url), aiohttp.ClientSession() as http:
        channel = wechat.WechatSubscribe(
            "wx-app", "wx-secret", {"test_due": {"template_id": "tpl-due", "fields": {"thing1": "title", "thing2": "content"}}},
            http, api=f"{url}/wechat")
        message = Message(notification_id=str(uuid.uuid4()), kind="test_due", recipient="p", to="o-dev-zhang",
                          title="今日需做核酸检测", body="您今天需按管控要求进行核酸检测，请就近前往采样点。")
        assert (await channel.send(message)).verdict == "sent"
        assert (await channel.send(message)).verdict == "sent"
        assert fake.tokens_issued == 1  # fetched once, then kept
        assert fake.received[0][1] == {"touser": "o-dev-zhang", "template_id": "tpl-due", "lang": "zh_CN", "data": {
            "thing1": {"value": "今日需做核酸检测"}, "thing2": {"value": "您今天需按管控要求进行核酸检测，请就近…"}}}
        fake.expire_next_token_use = True
        assert (await channel.send(message)).verdict == "retry"  # WeChat dropped the token: retried with a new one
        assert (await channel.send(message)).verdict == "sent" and fake.tokens_issued == 2
        unknown = await channel.send(Message(**{**message.__dict__, "to": "o-unknown"}))
        assert unknown.verdict == "give_up" and unknown.unreachable and unknown.reason.startswith("unreachable")
        assert (await channel.send(Message(**{**message.__dict__, "kind": "exposure"}))).verdict == "give_up"  # no template


async def test_quiet_hours_hold_a_residents_sms_and_the_daily_cap_holds(databases, nats_server, tmp_path):
    async with notify_service(databases, nats_server.url, tmp_path / "home") as notify:
        v = vault(notify)
        person = person_registered(v, "13912340002")
        await publish(nats_server.url, person)
        await projected(notify, person)
        china = ZoneInfo("Asia/Shanghai")
        local = datetime.now(china)
        quiet = {"start": (local - timedelta(hours=1)).strftime("%H:%M"), "end": (local + timedelta(hours=1)).strftime("%H:%M")}
        await set_policy(notify, nats_server.url, quiet_hours=quiet, collapse_window_minutes=0)

        def due(day: int):
            return testing.ScheduleDue(schedule_id=uuid.uuid4(), person_id=person.person_id, region_code=REGION,
                                       measure_id=uuid.uuid4(), due_on=utcnow().date() + timedelta(days=day))
        await publish(nats_server.url, due(0))

        async def made():
            items = {i["channel"]: i for i in await listed(notify, kind="test_due")}
            return items if "sms" in items else None
        items = await eventually(made)
        async with notify.app.state.sessionmaker() as session:
            held = (await session.execute(select(Notification.next_attempt_at).where(
                Notification.id == uuid.UUID(items["sms"]["id"])))).scalar_one()
        created = datetime.fromisoformat(items["sms"]["created_at"])
        expected = pacing.not_before(created, quiet=QuietHours(**quiet), tz=china)
        assert expected > created and abs((held - expected).total_seconds()) < 1
        assert items["sms"]["status"] == "queued" and items["sms"]["attempts"] == 0 and items["inbox"]["status"] == "sent"
        # A login code asked for now is exempt: it goes at once, quiet hours or not.
        phone = "13912340003"
        await publish(nats_server.url, auth.SmsCodeRequested(phone_index=v.index("phone", phone), phone_enc=v.encrypt(phone),
                                                             code_enc=v.encrypt("111111"), expires_at=utcnow() + timedelta(minutes=5)))

        async def code_sent():
            return [i for i in await listed(notify, kind="login_code") if i["status"] == "sent"]
        assert len(await eventually(code_sent)) == 1

        # The daily cap: one SMS a day for this person; the next notice reaches only the inbox.
        await set_policy(notify, nats_server.url, quiet_hours={"start": "00:00", "end": "00:00"}, daily_cap=1,
                         collapse_window_minutes=0)
        await publish(nats_server.url, due(1))

        async def both():
            items = await listed(notify, kind="test_due")
            return items if sum(i["channel"] == "inbox" for i in items) == 2 else None
        items = await eventually(both)
        assert sum(i["channel"] == "sms" for i in items) == 1


async def test_a_resident_who_bound_wechat_gets_subscription_messages_others_sms(notify, nats_server):
    v = vault(notify)
    bound, plain = person_registered(v, "13912340004"), person_registered(v, "13912340005")
    await publish(nats_server.url, bound, plain)
    await projected(notify, bound, plain)
    await publish(nats_server.url, auth.WechatBound(phone_index=bound.phone_index, openid="o-dev-bound", person_id=bound.person_id,
                                                    openid_enc=v.encrypt("o-dev-bound")))

    async def learned():
        async with notify.app.state.sessionmaker() as session:
            return await session.get(WechatRef, bound.phone_index)
    await eventually(learned)
    for person in (bound, plain):
        await publish(nats_server.url, testing.ScheduleDue(schedule_id=uuid.uuid4(), person_id=person.person_id, region_code=REGION,
                                                           measure_id=uuid.uuid4(), due_on=utcnow().date()))

    async def delivered():
        items = [i for i in await listed(notify, kind="test_due") if i["channel"] != "inbox"]
        return items if len(items) == 2 and all(i["status"] == "sent" for i in items) else None
    items = {i["recipient"]: i["channel"] for i in await eventually(delivered)}
    assert items == {str(bound.person_id): "wechat", str(plain.person_id): "sms"}
    wechat_sink = [orjson.loads(line) for line in (notify.app_settings.home / "outbox" / "wechat.jsonl").read_text().splitlines()]
    assert [line["to"] for line in wechat_sink] == ["o-dev-bound"]


async def test_a_wechat_message_the_resident_cannot_receive_goes_by_sms_once(databases, nats_server, tmp_path):
    """WeChat answers 43101 (the user has not subscribed to the template, or refused it): the subscription
    message fails, and the same message goes by SMS to the person's phone, once."""
    async with fake_providers() as (fake, url):
        async with notify_service(databases, nats_server.url, tmp_path / "home", wechat_app_id="wx-app",
                                  wechat_app_secret="wx-secret", wechat_api_url=f"{url}/wechat") as notify:
            v = vault(notify)
            refused = person_registered(v, "13912340006")
            await publish(nats_server.url, refused)
            await projected(notify, refused)
            await publish(nats_server.url, auth.WechatBound(phone_index=refused.phone_index, openid="o-refused",
                                                            person_id=refused.person_id, openid_enc=v.encrypt("o-refused")))

            async def learned():
                async with notify.app.state.sessionmaker() as session:
                    return await session.get(WechatRef, refused.phone_index)
            await eventually(learned)
            await publish(nats_server.url, testing.ScheduleDue(schedule_id=uuid.uuid4(), person_id=refused.person_id, region_code=REGION,
                                                               measure_id=uuid.uuid4(), due_on=utcnow().date()))

            async def both_settled():
                items = {i["channel"]: i for i in await listed(notify, kind="test_due") if i["channel"] != "inbox"}
                done = {"wechat": "failed", "sms": "sent"}
                return items if {c: i["status"] for c, i in items.items()} == done else None
            items = await eventually(both_settled)
            assert items["sms"]["body"] == items["wechat"]["body"] and items["sms"]["recipient"] == str(refused.person_id)
            sms_sink = [orjson.loads(line) for line in (notify.app_settings.home / "outbox" / "sms.jsonl").read_text().splitlines()]
            assert [line["to"] for line in sms_sink] == ["13912340006"]
            assert [body["touser"] for name, body in fake.received if name == "wechat"] == ["o-refused"]
