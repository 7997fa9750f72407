"""The door's limits on sign-in (CONTRACT "Security of the door"): wrong passwords, SMS codes and WeChat
codes are limited per account, per phone and per client address; past a limit the answer is
429 ``too_many_attempts`` with ``Retry-After``.

Failures are charged after the attempt and looked at before the next one, so a person who signs in
right the first time never spends anything; requests for SMS codes are charged on every request (each
one costs an SMS). The per-phone limits live with the phone's code in the gateway's database
(``gateway.auth.service``); the rest in the gateway's buckets (``gateway.limits``: Redis, shared by
every replica, when ``CORDON_REDIS_URL`` is set).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from cordon.errors import DomainError
from gateway import limits
from gateway.limits import Limit


def too_many(wait: float) -> DomainError:
    return DomainError("尝试次数过多，请稍后再试。", code="too_many_attempts", status=429, headers=limits.retry_after(wait))


@dataclass(frozen=True)
class DoorLimits:
    requests_per_address: Limit  # every request at the door, from one address
    password_failures_per_account: Limit
    password_failures_per_address: Limit
    sms_codes_per_address: Limit
    code_failures_per_address: Limit
    wechat_failures_per_address: Limit

    @classmethod
    def from_settings(cls, s) -> DoorLimits:
        return cls(
            requests_per_address=Limit.per_second("door-address", s.rate_per_ip),
            password_failures_per_account=Limit.per_hour("password-account", s.password_failures_per_account_hour),
            password_failures_per_address=Limit.per_hour("password-address", s.password_failures_per_address_hour),
            sms_codes_per_address=Limit.per_hour("sms-address", s.sms_codes_per_address_hour),
            code_failures_per_address=Limit.per_hour("code-address", s.code_failures_per_address_hour),
            wechat_failures_per_address=Limit(
                "wechat-address", s.wechat_failures_per_minute / 60, s.wechat_failures_per_minute
            ),
        )


def address(request: Request) -> str:
    """The client's address, read through the trusted proxies only (``CORDON_TRUSTED_PROXIES``)."""
    return limits.client_address(
        request.client.host if request.client else None, request.headers.getlist("x-forwarded-for"),
        request.app.state.trusted_proxies,
    )


class Attempt:
    """One sign-in attempt: refused at once while any of its buckets is empty, charged if it fails."""

    def __init__(self, request: Request, *buckets: tuple[Limit, str]) -> None:
        self.store = request.app.state.buckets
        self.door: DoorLimits = request.app.state.door
        self.address = address(request)
        self.buckets = buckets

    async def __aenter__(self) -> Attempt:
        wait = await self.store.take(self.door.requests_per_address, self.address)
        if wait:
            raise DomainError("Too many requests from this address.", code="rate_limited", status=429,
                              headers=limits.retry_after(wait))
        waits = [await self.store.waiting(limit, key) for limit, key in self.buckets]
        if any(waits):
            raise too_many(max(waits))
        return self

    async def charge(self) -> None:
        for limit, key in self.buckets:
            await self.store.take(limit, key)

    async def spend(self, limit: Limit, key: str) -> None:
        """Spend from a bucket on every request (an SMS costs whether or not it is used)."""
        wait = await self.store.take(limit, key)
        if wait:
            raise too_many(wait)

    async def __aexit__(self, kind, exc, tb) -> None:
        if isinstance(exc, DomainError) and exc.code in FAILURES:
            await self.charge()


# The answers that count as a failed attempt (a wrong password, code or WeChat code).
FAILURES = {"invalid_credentials", "invalid_code", "wechat_code_invalid"}
