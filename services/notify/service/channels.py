"""The ways out: SMS and WeChat through a provider's HTTP endpoint (or the developer's sink file), and signed webhooks.

Each adapter answers with a domain Outcome; nothing here raises for a provider's trouble. Every message carries
its notification id as idempotency key; ``repeatable`` says whether the far end drops a message it already has
by that key, so that an attempt of unknown outcome may be made again without doubling it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import aiohttp
import orjson

from services.notify.domain import delivery
from services.notify.domain.delivery import Outcome


@dataclass(frozen=True)
class Message:
    notification_id: str
    kind: str
    recipient: str
    to: str | None  # the phone in clear, for sms and wechat; decrypted just before sending
    title: str
    body: str
    region_code: str | None = None
    code: str | None = None  # a login code in clear, for providers' templates that take it alone


class Channel(Protocol):
    repeatable: bool

    async def send(self, message: Message) -> Outcome: ...


class Unconfigured:
    """A channel production has no provider for (WeChat left off): its messages fail, none is written anywhere."""

    repeatable = True

    def __init__(self, channel: str) -> None:
        self.channel = channel

    async def send(self, message: Message) -> Outcome:
        return Outcome("give_up", f"{self.channel}: no provider is configured")


class SinkChannel:
    """The embedded default: one JSON object a line in <home>/outbox/<channel>.jsonl.

    The phone is written in clear: this file is the developer's own phone, so to speak (it is
    how a login code is read in dev mode). Never configured outside dev mode. Like a provider that
    honours idempotency keys, it keeps a message once per notification id, across restarts.
    """

    repeatable = True

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._kept: set[str] | None = None  # the ids in the file, read once

    async def send(self, message: Message) -> Outcome:
        line = orjson.dumps({"to": message.to, "title": message.title, "body": message.body,
                             "id": message.notification_id, "kind": message.kind}) + b"\n"
        # Checked, written and remembered in one step of the thread: a send the caller gave up on (a timeout)
        # still remembers what it wrote.
        await asyncio.to_thread(self._keep_once, message.notification_id, line)
        return delivery.SENT

    def _keep_once(self, notification_id: str, line: bytes) -> None:
        with self._lock:
            if self._kept is None:
                self._kept = self._ids()
            if notification_id not in self._kept:
                self._append(line)
                self._kept.add(notification_id)

    def _ids(self) -> set[str]:
        if not self.path.exists():
            return set()
        kept = set()
        with self.path.open("rb") as f:
            for line in f:
                try:
                    kept.add(orjson.loads(line)["id"])
                except (orjson.JSONDecodeError, KeyError, TypeError):
                    continue  # a line cut short by a crash: its message is written again, on a line of its own
        return kept

    def _append(self, line: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("ab+") as f:
            if f.tell():
                f.seek(-1, 2)
                if f.read(1) != b"\n":
                    line = b"\n" + line
            f.write(line)


async def _post(session: aiohttp.ClientSession, url: str, body: bytes, headers: dict, timeout_s: float) -> Outcome:
    try:
        async with session.post(url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout_s)) as response:
            detail = "" if 200 <= response.status < 300 else (await response.text())[:200]
            return delivery.from_status(response.status, detail)
    except TimeoutError:
        return delivery.unknown(f"timeout after {timeout_s}s")
    except aiohttp.ClientConnectorError as exc:  # no connection was made: nothing was sent
        return delivery.retry(f"{type(exc).__name__}: {exc}"[:200])
    except (aiohttp.ClientError, OSError) as exc:  # the connection broke, perhaps after the request went out
        return delivery.unknown(f"{type(exc).__name__}: {exc}"[:200])


class ProviderChannel:
    """An SMS or WeChat gateway: POST JSON {to, title, body, id}; the notification id is the idempotency key
    (header ``Idempotency-Key``). ``repeatable``: the provider drops a repeated key (the default, and what
    the generic provider protocol asks); a provider that does not gets no attempt of unknown outcome again."""

    def __init__(self, url: str, session: aiohttp.ClientSession, timeout_s: float, *, repeatable: bool = True) -> None:
        self.url, self.session, self.timeout_s, self.repeatable = url, session, timeout_s, repeatable

    async def send(self, message: Message) -> Outcome:
        body = orjson.dumps({"to": message.to, "title": message.title, "body": message.body, "id": message.notification_id})
        headers = {"Content-Type": "application/json", "Idempotency-Key": message.notification_id}
        return await _post(self.session, self.url, body, headers, self.timeout_s)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>.<body>" (the timestamp guards against replays), hex."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class WebhookChannel:
    """A command office's own system: the notification as JSON, signed; it drops a repeated ``Idempotency-Key``."""

    repeatable = True

    def __init__(self, url: str, secret: str, session: aiohttp.ClientSession, timeout_s: float) -> None:
        self.url, self.secret, self.session, self.timeout_s = url, secret, session, timeout_s

    async def send(self, message: Message) -> Outcome:
        body = orjson.dumps({"id": message.notification_id, "kind": message.kind, "recipient": message.recipient,
                             "region_code": message.region_code, "title": message.title, "body": message.body})
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": message.notification_id,
            "X-Cordon-Timestamp": timestamp,
            "X-Cordon-Signature": "sha256=" + signature(self.secret, timestamp, body),
        }
        return await _post(self.session, self.url, body, headers, self.timeout_s)
