"""Adapters for the channels China uses: Alibaba Cloud SMS, Tencent Cloud SMS, WeChat subscription messages.

Each signs its requests as its provider documents (no SDK), sends one message as sign name +
template code + template parameters (the policy maps each notification kind to a template per
provider), and classifies what the provider answered: sent, retry later, never retry, or a bad
number (never retried either), counted in ``cordon_notify_provider_errors_total``.
"""

from __future__ import annotations

import aiohttp
from prometheus_client import Counter

from services.notify.domain import delivery
from services.notify.domain.delivery import Outcome

PROVIDER_ERRORS = Counter(
    "cordon_notify_provider_errors_total", "Provider answers other than sent, by class", ["provider", "error_class"]
)


def retry_later(provider: str, reason: str, *, unknown: bool = False) -> Outcome:
    """``unknown``: the request may have reached the provider (a timeout, a connection lost mid-request)."""
    PROVIDER_ERRORS.labels(provider, "retry_later").inc()
    return (delivery.unknown if unknown else delivery.retry)(f"{provider}: {reason}"[:200])


def never_retry(provider: str, reason: str) -> Outcome:
    PROVIDER_ERRORS.labels(provider, "never_retry").inc()
    return Outcome("give_up", f"{provider}: {reason}"[:200])


def bad_number(provider: str, reason: str) -> Outcome:
    PROVIDER_ERRORS.labels(provider, "bad_number").inc()
    return Outcome("give_up", f"bad_number: {provider}: {reason}"[:200])


def unreachable(provider: str, reason: str) -> Outcome:
    """The channel cannot reach this recipient (a WeChat user who has not subscribed): never retried here,
    but the message goes by the channel's fallback (domain.delivery.FALLBACK)."""
    PROVIDER_ERRORS.labels(provider, "unreachable").inc()
    return Outcome("give_up", f"unreachable: {provider}: {reason}"[:200], unreachable=True)


def template_params(kind: str, title: str, body: str, code: str | None) -> dict[str, str]:
    """What fills an approved template: the login code alone, else the message's title and content."""
    if kind == "login_code":
        return {"code": code or ""}
    return {"title": title, "content": body}


async def request(*, provider: str, session: aiohttp.ClientSession, method: str, url: str, timeout_s: float,
                  **kwargs) -> tuple[int, dict] | Outcome:
    """One HTTP exchange: (status, JSON answer), or the retry a transport failure calls for."""
    try:
        async with session.request(method, url, timeout=aiohttp.ClientTimeout(total=timeout_s), **kwargs) as response:
            try:
                answer = await response.json(content_type=None)
            except ValueError:
                answer = None
            if not isinstance(answer, dict):
                if response.status == 429 or response.status >= 500:
                    return retry_later(provider, f"http {response.status}")
                return never_retry(provider, f"http {response.status}: not JSON")
            return response.status, answer
    except TimeoutError:
        return retry_later(provider, f"timeout after {timeout_s}s", unknown=True)
    except aiohttp.ClientConnectorError as exc:  # no connection: nothing was sent
        return retry_later(provider, type(exc).__name__)
    except (aiohttp.ClientError, OSError) as exc:
        return retry_later(provider, type(exc).__name__, unknown=True)


def required_sms_kinds() -> set[str]:
    """Every kind that may go out by SMS: each needs an approved template."""
    from services.notify.domain.recipients import CHANNELS

    return {kind for kind, channels in CHANNELS.items() if "sms" in channels} | {"broadcast"}


def sms_channel(settings, policy, http: aiohttp.ClientSession):
    """The SMS adapter the settings name; a kind without a template is a start-up error, not a silent drop."""
    from services.notify.service.providers import aliyun, tencent

    provider = settings.sms_provider
    if provider in ("aliyun", "tencent"):
        templates = policy.notifications.sms_templates.get(provider, {})
        missing = sorted(required_sms_kinds() - set(templates))
        if missing:
            raise RuntimeError(f"no {provider} SMS template in the policy for: {', '.join(missing)}")
    if provider == "aliyun":
        return aliyun.AliyunSms(settings.aliyun_access_key_id, settings.aliyun_access_key_secret, settings.sms_sign_name,
                                templates, http, settings.provider_timeout_s, settings.aliyun_sms_endpoint)
    if provider == "tencent":
        return tencent.TencentSms(settings.tencent_secret_id, settings.tencent_secret_key, settings.tencent_sms_sdk_app_id,
                                  settings.sms_sign_name, templates, http, settings.provider_timeout_s,
                                  settings.tencent_sms_endpoint, settings.tencent_sms_region)
    return _generic_or_sink(settings, "sms", settings.sms_provider_url, http)


def wechat_channel(settings, policy, http: aiohttp.ClientSession):
    """WeChat subscription messages when an app is configured; else the development sink (or a generic gateway)."""
    from services.notify.service.providers import wechat

    if settings.wechat_app_id:
        templates = {k: t.model_dump() for k, t in policy.notifications.wechat_templates.items()}
        return wechat.WechatSubscribe(settings.wechat_app_id, settings.wechat_app_secret, templates, http,
                                      settings.provider_timeout_s, settings.wechat_api_url)
    return _generic_or_sink(settings, "wechat", settings.wechat_provider_url, http)


def _generic_or_sink(settings, channel: str, url: str | None, http: aiohttp.ClientSession):
    """A generic HTTP gateway, or the development sink file (settings refuse the sink outside dev mode)."""
    import logging

    from services.notify.service import channels

    if url:
        return channels.ProviderChannel(url, http, settings.provider_timeout_s, repeatable=settings.provider_idempotent)
    if settings.env != "dev":  # production never writes phones, openids or codes to a file
        logging.getLogger("cordon.notify").warning("%s: no provider is configured; its messages fail", channel)
        return channels.Unconfigured(channel)
    path = settings.home / "outbox" / f"{channel}.jsonl"
    logging.getLogger("cordon.notify").warning("%s messages go to the development sink %s, not to a provider", channel, path)
    return channels.SinkChannel(path)
