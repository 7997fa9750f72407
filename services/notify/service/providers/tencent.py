"""Tencent Cloud SMS (``SendSms``, API version 2021-01-11), signed with TC3-HMAC-SHA256 (signature v3).

CanonicalRequest = method, "/", query, "content-type:...\\nhost:...\\n", "content-type;host",
hex(SHA256(payload)); StringToSign = "TC3-HMAC-SHA256", timestamp, "<UTC date>/<service>/tc3_request",
hex(SHA256(CanonicalRequest)); the key is derived HMAC-SHA256("TC3" + SecretKey, date) -> service
-> "tc3_request", as Tencent's documentation sets out.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

import aiohttp
import orjson

from services.notify.domain import delivery
from services.notify.domain.delivery import Outcome
from services.notify.service import providers

ENDPOINT = "https://sms.tencentcloudapi.com/"
NAME = "tencent"
ALGORITHM = "TC3-HMAC-SHA256"
CONTENT_TYPE = "application/json; charset=utf-8"
BAD_NUMBER = {"InvalidParameterValue.IncorrectPhoneNumber", "FailedOperation.PhoneNumberInBlacklist",
              "UnsupportedOperation.UnsupportedRegion", "FailedOperation.PhoneNumberParseFail"}
RETRY_PREFIXES = ("LimitExceeded.", "InternalError", "RequestLimitExceeded", "ResourceUnavailable", "FailedOperation.InsufficientBalanceInSmsPackage")


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def authorization(*, secret_id: str, secret_key: str, service: str, host: str, payload: str, timestamp: int,
                  method: str = "POST", query: str = "") -> str:
    """The Authorization header of one request."""
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    canonical = "\n".join([
        method, "/", query, f"content-type:{CONTENT_TYPE}\nhost:{host}\n", "content-type;host",
        hashlib.sha256(payload.encode()).hexdigest(),
    ])
    scope = f"{date}/{service}/tc3_request"
    to_sign = "\n".join([ALGORITHM, str(timestamp), scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"{ALGORITHM} Credential={secret_id}/{scope}, SignedHeaders=content-type;host, Signature={signature}"


def classify(status: int, answer: dict) -> Outcome:
    response = answer.get("Response") if isinstance(answer.get("Response"), dict) else {}
    error = response.get("Error")
    if isinstance(error, dict):
        code, reason = str(error.get("Code", "")), f"{error.get('Code')}: {error.get('Message', '')}"
    else:
        sent = response.get("SendStatusSet") or [{}]
        code = str(sent[0].get("Code", "")) if isinstance(sent[0], dict) else ""
        if code == "Ok":
            return delivery.SENT
        reason = f"{code}: {sent[0].get('Message', '') if isinstance(sent[0], dict) else ''}"
    if code in BAD_NUMBER:
        return providers.bad_number(NAME, reason)
    if code.startswith(RETRY_PREFIXES) or status == 429 or status >= 500:
        return providers.retry_later(NAME, reason)
    return providers.never_retry(NAME, reason)


@dataclass
class TencentSms:
    # Nothing here drops a repeated request by a key of ours: an attempt of unknown outcome is not made again.
    repeatable = False

    secret_id: str
    secret_key: str
    sdk_app_id: str
    sign_name: str
    templates: dict[str, str]  # notification kind -> template id
    session: aiohttp.ClientSession
    timeout_s: float = 5.0
    endpoint: str = ENDPOINT
    region: str = "ap-guangzhou"
    clock: object = field(default=lambda: int(time.time()))

    async def send(self, message) -> Outcome:
        template = self.templates.get(message.kind)
        if template is None:
            return providers.never_retry(NAME, f"no template for {message.kind}")
        params = providers.template_params(message.kind, message.title, message.body, message.code)
        payload = orjson.dumps({
            "PhoneNumberSet": [f"+86{message.to}"], "SmsSdkAppId": self.sdk_app_id, "SignName": self.sign_name,
            "TemplateId": template, "TemplateParamSet": list(params.values()), "SessionContext": message.notification_id,
        }).decode()
        timestamp = self.clock()
        host = urlsplit(self.endpoint).netloc
        headers = {
            "Authorization": authorization(secret_id=self.secret_id, secret_key=self.secret_key, service="sms", host=host,
                                           payload=payload, timestamp=timestamp),
            "Content-Type": CONTENT_TYPE, "Host": host, "X-TC-Action": "SendSms", "X-TC-Version": "2021-01-11",
            "X-TC-Timestamp": str(timestamp), "X-TC-Region": self.region,
        }
        answer = await providers.request(provider=NAME, session=self.session, method="POST", url=self.endpoint, timeout_s=self.timeout_s,
                                         data=payload.encode(), headers=headers)
        return answer if isinstance(answer, Outcome) else classify(*answer)
