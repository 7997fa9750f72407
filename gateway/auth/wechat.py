"""WeChat's code2session: a ``wx.login`` code for the user's openid.

Production asks WeChat (``GET {url}?appid&secret&js_code&grant_type=authorization_code``);
the embedded default answers with a stand-in that follows the contract (``dev-X`` is openid
``o-dev-X``, anything else is an invalid code), so a mini-program can be developed offline.
WeChat's error codes become problems a client can switch on: 40029 and 40163 (invalid or used
code) 401 ``wechat_code_invalid``, 45011 (too frequent for this user) 429 ``wechat_rate_limited``,
-1 (busy), a transport failure or anything unexpected 503 ``wechat_unavailable``; 40226
(a user WeChat rates high-risk) 403 ``wechat_user_blocked``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

import aiohttp
import orjson

from cordon.errors import DomainError, Unauthenticated

log = logging.getLogger("cordon.gateway.wechat")

CODE2SESSION_URL = "https://api.weixin.qq.com/sns/jscode2session"


def invalid_code() -> DomainError:
    return Unauthenticated("微信登录凭证无效、已使用或已过期，请重新登录。", code="wechat_code_invalid")


def unavailable() -> DomainError:
    return DomainError("微信登录服务暂时不可用，请稍后再试。", code="wechat_unavailable", status=503,
                       headers={"Retry-After": "5"})


def _problem_for(errcode: int) -> DomainError:
    if errcode in (40029, 40163):
        return invalid_code()
    if errcode == 45011:
        return DomainError("登录过于频繁，请一分钟后再试。", code="wechat_rate_limited", status=429,
                           headers={"Retry-After": "60"})
    if errcode == 40226:
        return DomainError("微信已拦截该用户的登录。", code="wechat_user_blocked", status=403)
    return unavailable()


class Code2Session(Protocol):
    single_use: bool  # whether a code is spent once presented (WeChat's are)

    async def openid(self, code: str) -> str: ...


@dataclass
class StandIn:
    """The contract's stand-in: ``dev-X`` is openid ``o-dev-X``; every other code is invalid.

    Here the code names the user, so it cannot be single use (a developer signs in as X again
    with ``dev-X``); the real endpoint's codes are.
    """

    single_use = False

    async def openid(self, code: str) -> str:
        if code.startswith("dev-") and len(code) > 4:
            return f"o-{code}"
        raise invalid_code()


@dataclass
class Disabled:
    """Outside dev mode without an app id: no stand-in may answer there."""

    single_use = False

    async def openid(self, code: str) -> str:
        raise unavailable()


@dataclass
class WechatApi:
    """The real endpoint, through one aiohttp session held for the app's lifetime."""

    url: str
    app_id: str
    app_secret: str
    session: aiohttp.ClientSession
    timeout_s: float = 5.0
    single_use = True

    async def openid(self, code: str) -> str:
        params = {"appid": self.app_id, "secret": self.app_secret, "js_code": code, "grant_type": "authorization_code"}
        try:
            timeout = aiohttp.ClientTimeout(total=self.timeout_s)
            async with self.session.get(self.url, params=params, timeout=timeout) as r:
                body = await r.read()
                status = r.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("code2session unreachable", extra={"error": type(exc).__name__})
            raise unavailable() from None
        try:
            answer = orjson.loads(body) if status == 200 else {}
        except orjson.JSONDecodeError:
            answer = {}
        errcode = answer.get("errcode", 0) if isinstance(answer, dict) else -1
        if errcode:
            log.info("code2session refused", extra={"errcode": errcode})  # never the code, never the openid
            raise _problem_for(int(errcode) if isinstance(errcode, int) else -1)
        openid = answer.get("openid") if isinstance(answer, dict) else None
        if not isinstance(openid, str) or not openid:
            log.warning("code2session answered without an openid", extra={"http_status": status})
            raise unavailable()
        return openid
