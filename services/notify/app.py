"""create_app() for the notify service."""

from __future__ import annotations

from typing import Literal

from fastapi import FastAPI
from pydantic import Field

from cordon import observability
from cordon.app import create_service_app
from cordon.settings import Settings
from services.notify import clockwork, handlers
from services.notify.api import ROUTERS
from services.notify.schemas import Channel
from services.notify.service import monitoring
from services.notify.service.delivery import Retry
from services.notify.service.providers import aliyun, tencent, wechat


class NotifySettings(Settings):
    service = "notify"

    # SMS: Alibaba Cloud or Tencent Cloud (signed requests, the policy's templates), or a generic HTTP
    # gateway (sms_provider_url). Unset: <home>/outbox/sms.jsonl, the embedded default (dev only).
    sms_provider: Literal["aliyun", "tencent"] | None = None
    sms_provider_url: str | None = None
    sms_sign_name: str = ""
    aliyun_access_key_id: str = ""
    aliyun_access_key_secret: str = Field(default="", repr=False)
    aliyun_sms_endpoint: str = aliyun.ENDPOINT
    tencent_secret_id: str = ""
    tencent_secret_key: str = Field(default="", repr=False)
    tencent_sms_sdk_app_id: str = ""
    tencent_sms_endpoint: str = tencent.ENDPOINT
    tencent_sms_region: str = "ap-guangzhou"
    # WeChat subscription messages (the mini-program's app), or a generic gateway; unset: the sink.
    wechat_app_id: str | None = None
    wechat_app_secret: str = Field(default="", repr=False)
    wechat_api_url: str = wechat.API
    wechat_provider_url: str | None = None
    # The command office's system: urgent alerts are also POSTed here, signed with HMAC-SHA256.
    webhook_url: str | None = None
    webhook_secret: str = Field(default="", repr=False)
    provider_timeout_s: float = 5.0
    # The SMS/WeChat provider drops a message whose Idempotency-Key it has seen: an attempt of unknown outcome
    # (a timeout, a crash) is made again. False: such an attempt is failed instead (at most once, either way).
    provider_idempotent: bool = True
    # How long a claimed notification stays with its worker; past it, a worker that died is taken to have
    # been interrupted. Unset: twice the provider timeout plus 30 s.
    delivery_lease_s: float | None = None
    # Retries: exponential backoff with full jitter, then failed.
    delivery_max_attempts: int = 6
    retry_base_s: float = 2.0
    retry_cap_s: float = 300.0
    # Per-channel concurrency: a slow provider fills only its own channel's slots.
    sms_concurrency: int = 50
    wechat_concurrency: int = 50
    webhook_concurrency: int = 10
    delivery_batch: int = 200
    delivery_loops: int = 2
    delivery_poll_s: float = 0.5
    escalation_poll_s: float = 15.0
    broadcast_batch: int = 2000
    broadcast_poll_s: float = 1.0
    worklist_tidy_s: float = 3600.0

    def missing_secrets(self) -> list[str]:
        missing = super().missing_secrets()
        if self.webhook_url and not self.webhook_secret:
            missing.append("CORDON_WEBHOOK_SECRET (CORDON_WEBHOOK_URL is set)")
        needs = {
            "aliyun": ("sms_sign_name", "aliyun_access_key_id", "aliyun_access_key_secret"),
            "tencent": ("sms_sign_name", "tencent_secret_id", "tencent_secret_key", "tencent_sms_sdk_app_id"),
        }.get(self.sms_provider or "", ())
        missing += [f"CORDON_{name.upper()} (CORDON_SMS_PROVIDER={self.sms_provider})" for name in needs
                    if not getattr(self, name)]
        if self.wechat_app_id and not self.wechat_app_secret:  # WeChat messages are on: the secret too
            missing.append("CORDON_WECHAT_APP_SECRET (CORDON_WECHAT_APP_ID is set)")
        if self.env != "dev" and not (self.sms_provider or self.sms_provider_url):
            missing.append("CORDON_SMS_PROVIDER (aliyun or tencent) or CORDON_SMS_PROVIDER_URL: the file sink is for "
                           "development only")
        return missing

    @property
    def lease_s(self) -> float:
        return self.delivery_lease_s if self.delivery_lease_s is not None else self.provider_timeout_s * 2 + 30

    def concurrency(self, channel: str) -> int:
        return {"sms": self.sms_concurrency, "wechat": self.wechat_concurrency, "webhook": self.webhook_concurrency}[channel]

    @property
    def retry(self) -> Retry:
        return Retry(base_s=self.retry_base_s, cap_s=self.retry_cap_s, max_attempts=self.delivery_max_attempts)


async def _gauges(app: FastAPI) -> None:
    async with app.state.sessionmaker() as session:
        counts = await monitoring.by_channel(session=session)
    for channel in Channel.__args__:
        for status in monitoring.WATCHED:
            observability.NOTIFICATIONS.labels(channel, status).set(counts.get((channel, status), 0))


def create_app(settings: NotifySettings | None = None) -> FastAPI:
    settings = settings or NotifySettings()
    return create_service_app(
        settings=settings,
        routers=ROUTERS,
        consumers=handlers.consumers(webhook=bool(settings.webhook_url)),
        tasks=[clockwork.deliver, clockwork.escalate, clockwork.fan_out, clockwork.tidy_worklist],
        contexts=[clockwork.channel_adapters],
        gauges=[_gauges],
        description="Notifications to residents and staff: channels, retries, acknowledgement and escalation.",
    )
