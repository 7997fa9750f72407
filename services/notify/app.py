"""create_app() for the notify service."""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import Field, model_validator

from cordon.app import create_service_app
from cordon.settings import Settings
from services.notify import clockwork, handlers
from services.notify.api import ROUTERS
from services.notify.service.delivery import Retry


class NotifySettings(Settings):
    service = "notify"

    # Providers. Unset: sms and wechat go to <home>/outbox/<channel>.jsonl (the embedded default).
    sms_provider_url: str | None = None
    wechat_provider_url: str | None = None
    # The command office's system: urgent alerts are also POSTed here, signed with HMAC-SHA256.
    webhook_url: str | None = None
    webhook_secret: str = Field(default="", repr=False)
    provider_timeout_s: float = 5.0
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

    @model_validator(mode="after")
    def _webhook_signed(self) -> "NotifySettings":
        if self.webhook_url and not self.webhook_secret:
            raise ValueError("CORDON_WEBHOOK_SECRET is required with CORDON_WEBHOOK_URL")
        return self

    def concurrency(self, channel: str) -> int:
        return {"sms": self.sms_concurrency, "wechat": self.wechat_concurrency, "webhook": self.webhook_concurrency}[channel]

    @property
    def retry(self) -> Retry:
        return Retry(base_s=self.retry_base_s, cap_s=self.retry_cap_s, max_attempts=self.delivery_max_attempts)


def create_app(settings: NotifySettings | None = None) -> FastAPI:
    settings = settings or NotifySettings()
    return create_service_app(
        settings=settings,
        routers=ROUTERS,
        consumers=handlers.consumers(webhook=bool(settings.webhook_url)),
        tasks=[clockwork.deliver, clockwork.escalate, clockwork.fan_out],
        contexts=[clockwork.channel_adapters],
        description="Notifications to residents and staff: channels, retries, acknowledgement and escalation.",
    )
