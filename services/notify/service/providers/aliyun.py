"""Alibaba Cloud SMS (dysmsapi ``SendSms``, API version 2017-05-25), signed with the RPC signature v1 (HMAC-SHA1).

StringToSign = "POST&%2F&" + percent(the sorted, percent-encoded query); the key is the
AccessKey secret followed by "&"; the Base64 HMAC-SHA1 is sent as ``Signature``. Percent-encoding
is RFC 3986 (space %20, "*" %2A, "~" kept), as Alibaba's documentation requires.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote

import aiohttp
import orjson

from services.notify.domain import delivery
from services.notify.domain.delivery import Outcome
from services.notify.service import providers

ENDPOINT = "https://dysmsapi.aliyuncs.com/"
NAME = "aliyun"
# Alibaba's error codes (SendSms): the number is wrong, or the call will not succeed as it stands.
BAD_NUMBER = {"isv.MOBILE_NUMBER_ILLEGAL", "isv.MOBILE_COUNT_OVER_LIMIT", "isv.BLACK_KEY_CONTROL_LIMIT"}
RETRY = {"isp.SYSTEM_ERROR", "isp.RAM_PERMISSION_DENY", "isv.BUSINESS_LIMIT_CONTROL", "Throttling.User",
         "isv.DAY_LIMIT_CONTROL", "ServiceUnavailable", "InternalError", "SignatureNonceUsed"}


def percent(value: str) -> str:
    return quote(value, safe="~")


def canonical_query(params: dict[str, str]) -> str:
    return "&".join(f"{percent(k)}={percent(v)}" for k, v in sorted(params.items()))


def signature(secret: str, method: str, params: dict[str, str]) -> str:
    to_sign = f"{method}&{percent('/')}&{percent(canonical_query(params))}"
    return base64.b64encode(hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()).decode()


def signed_params(*, access_key_id: str, secret: str, phone: str, sign_name: str, template_code: str,
                  template_param: dict[str, str], now: datetime, nonce: str, method: str = "POST",
                  out_id: str | None = None, region: str = "cn-hangzhou", fmt: str = "JSON") -> dict[str, str]:
    params = {
        "AccessKeyId": access_key_id, "Action": "SendSms", "Format": fmt, "RegionId": region,
        "SignatureMethod": "HMAC-SHA1", "SignatureNonce": nonce, "SignatureVersion": "1.0",
        "Timestamp": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "Version": "2017-05-25",
        "PhoneNumbers": phone, "SignName": sign_name, "TemplateCode": template_code,
        "TemplateParam": orjson.dumps(template_param).decode(),
    }
    if out_id:
        params["OutId"] = out_id
    return {"Signature": signature(secret, method, params), **params}


def classify(status: int, answer: dict) -> Outcome:
    code = str(answer.get("Code", ""))
    if code == "OK":
        return delivery.SENT
    reason = f"{code}: {answer.get('Message', '')}"
    if code in BAD_NUMBER:
        return providers.bad_number(NAME, reason)
    if code in RETRY or status == 429 or status >= 500:
        return providers.retry_later(NAME, reason)
    return providers.never_retry(NAME, reason)


@dataclass
class AliyunSms:
    # Nothing here drops a repeated request by a key of ours: an attempt of unknown outcome is not made again.
    repeatable = False

    access_key_id: str
    secret: str
    sign_name: str
    templates: dict[str, str]  # notification kind -> template code
    session: aiohttp.ClientSession
    timeout_s: float = 5.0
    endpoint: str = ENDPOINT
    clock: object = field(default=lambda: datetime.now(UTC))

    async def send(self, message) -> Outcome:
        template = self.templates.get(message.kind)
        if template is None:
            return providers.never_retry(NAME, f"no template for {message.kind}")
        params = signed_params(
            access_key_id=self.access_key_id, secret=self.secret, phone=message.to or "", sign_name=self.sign_name,
            template_code=template, template_param=providers.template_params(message.kind, message.title, message.body, message.code),
            now=self.clock(), nonce=uuid.uuid4().hex, out_id=message.notification_id,
        )
        answer = await providers.request(
            provider=NAME, session=self.session, method="POST", url=self.endpoint, timeout_s=self.timeout_s, data=canonical_query(params),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        return answer if isinstance(answer, Outcome) else classify(*answer)
