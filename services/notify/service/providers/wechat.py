"""WeChat subscription messages (``/cgi-bin/message/subscribe/send``), addressed by openid.

The access token comes from ``/cgi-bin/token`` (client_credential) and is kept until a little
before its ``expires_in``; an answer saying it is invalid or expired (40001, 42001) drops it and
the message is retried with a fresh one. Each message fills the template's ``data`` fields
``{key: {"value": ...}}`` from the policy's mapping of keys to the message's title, content or code,
cut to WeChat's lengths (``thing`` 20 characters, ``phrase`` 5, ``character_string`` 32).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import aiohttp

from services.notify.domain import delivery
from services.notify.domain.delivery import Outcome
from services.notify.service import providers

API = "https://api.weixin.qq.com"
NAME = "wechat"
LIMITS = {"thing": 20, "phrase": 5, "character_string": 32, "name": 10}
TOKEN_INVALID = {40001, 42001, 40014}
# Not an openid of this mini-program (40003); the user has not subscribed to this template or refused it (43101):
# WeChat cannot reach them, SMS may.
UNREACHABLE = {40003, 43101}
RETRY = {-1, 45009, 45011}


def data_fields(fields: dict[str, str], params: dict[str, str]) -> dict[str, dict[str, str]]:
    """{key: {"value": ...}} for WeChat, each value cut to its key type's length."""
    out = {}
    for key, source in fields.items():
        value = params.get(source, "")
        limit = LIMITS.get(key.rstrip("0123456789"))
        out[key] = {"value": value if limit is None or len(value) <= limit else value[: limit - 1] + "…"}
    return out


@dataclass
class WechatSubscribe:
    # Nothing here drops a repeated request by a key of ours: an attempt of unknown outcome is not made again.
    repeatable = False

    app_id: str
    app_secret: str
    templates: dict[str, dict]  # notification kind -> {"template_id", "fields": {key: "title"|"content"|"code"}}
    session: aiohttp.ClientSession
    timeout_s: float = 5.0
    api: str = API
    _token: tuple[str, float] | None = field(default=None, repr=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    async def access_token(self) -> str | Outcome:
        async with self._lock:
            if self._token and self._token[1] > time.monotonic():
                return self._token[0]
            params = {"grant_type": "client_credential", "appid": self.app_id, "secret": self.app_secret}
            answer = await providers.request(provider=NAME, session=self.session, method="GET", url=f"{self.api}/cgi-bin/token",
                                             timeout_s=self.timeout_s, params=params)
            if isinstance(answer, Outcome):
                return answer
            _, body = answer
            token = body.get("access_token")
            if not isinstance(token, str) or not token:
                errcode = body.get("errcode")
                return (providers.retry_later if errcode in RETRY else providers.never_retry)(NAME, f"token errcode {errcode}")
            ttl = float(body.get("expires_in") or 7200)
            self._token = (token, time.monotonic() + max(ttl - 300, ttl / 2))  # renewed well before WeChat drops it
            return token

    async def send(self, message) -> Outcome:
        template = self.templates.get(message.kind)
        if template is None:
            return providers.never_retry(NAME, f"no template for {message.kind}")
        token = await self.access_token()
        if isinstance(token, Outcome):
            return token
        params = providers.template_params(message.kind, message.title, message.body, message.code)
        payload = {"touser": message.to, "template_id": template["template_id"], "lang": "zh_CN",
                   "data": data_fields(template["fields"], params)}
        answer = await providers.request(provider=NAME, session=self.session, method="POST", url=f"{self.api}/cgi-bin/message/subscribe/send",
                                         timeout_s=self.timeout_s, params={"access_token": token}, json=payload)
        if isinstance(answer, Outcome):
            return answer
        errcode = answer[1].get("errcode", 0)
        if errcode == 0:
            return delivery.SENT
        reason = f"errcode {errcode}: {answer[1].get('errmsg', '')}"
        if errcode in TOKEN_INVALID:
            self._token = None
            return providers.retry_later(NAME, reason)
        if errcode in UNREACHABLE:
            return providers.unreachable(NAME, reason)
        if errcode in RETRY:
            return providers.retry_later(NAME, reason)
        return providers.never_retry(NAME, reason)  # 47003 bad data, 40037 bad template
