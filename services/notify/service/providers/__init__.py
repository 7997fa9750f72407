"""Adapters for the channels China uses: Alibaba Cloud SMS, Tencent Cloud SMS, WeChat subscription messages.

Each signs its requests as its provider documents (no SDK), sends one message as sign name +
template code + template parameters (the policy maps each notification kind to a template per
provider), and classifies what the provider answered: sent, retry later, never retry, or a bad
number (never retried either), counted in ``cordon_notify_provider_errors_total``.
"""

from __future__ import annotations

import asyncio

import aiohttp
from prometheus_client import Counter

from services.notify.domain import delivery
from services.notify.domain.delivery import Outcome

PROVIDER_ERRORS = Counter(
    "cordon_notify_provider_errors_total", "Provider answers other than sent, by class", ["provider", "error_class"]
)


def retry_later(provider: str, reason: str) -> Outcome:
    PROVIDER_ERRORS.labels(provider, "retry_later").inc()
    return delivery.retry(f"{provider}: {reason}"[:200])


def never_retry(provider: str, reason: str) -> Outcome:
    PROVIDER_ERRORS.labels(provider, "never_retry").inc()
    return Outcome("give_up", f"{provider}: {reason}"[:200])


def bad_number(provider: str, reason: str) -> Outcome:
    PROVIDER_ERRORS.labels(provider, "bad_number").inc()
    return Outcome("give_up", f"bad_number: {provider}: {reason}"[:200])


def template_params(kind: str, title: str, body: str, code: str | None) -> dict[str, str]:
    """What fills an approved template: the login code alone, else the message's title and content."""
    if kind == "login_code":
        return {"code": code or ""}
    return {"title": title, "content": body}


async def request(provider: str, session: aiohttp.ClientSession, method: str, url: str, *, timeout_s: float,
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
    except (asyncio.TimeoutError, TimeoutError):
        return retry_later(provider, f"timeout after {timeout_s}s")
    except (aiohttp.ClientError, OSError) as exc:
        return retry_later(provider, type(exc).__name__)
