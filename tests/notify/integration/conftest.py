from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import nats
import pytest

from cordon import pii
from cordon.bus.envelope import wrap
from cordon.natsserver import free_port
from cordon.settings import Settings
from tests.serving import eventually, start_service

ROOT = Path(__file__).resolve().parents[3]

FAST = dict(escalation_poll_s=0.1, delivery_poll_s=0.05, broadcast_poll_s=0.05, provider_timeout_s=0.5,
            retry_base_s=0.05, retry_cap_s=0.2)


@contextlib.asynccontextmanager
async def notify_service(databases, nats_url, home: Path, **settings):
    """The notify service with its own home (its sink files), the run's JWT key, and fast background loops."""
    async with start_service("notify", databases, nats_url, home=home, jwt_public_key_file=Settings().jwt_public_key_file,
                             **{**FAST, **settings}) as client:
        async def ready():
            return (await client.get("/readyz")).status_code == 200  # its streams and consumers are declared
        await eventually(ready)
        # Quiet hours would hold the tests' messages by the time of day the suite runs: off, unless a test sets them.
        await set_policy(client, nats_url, quiet_hours={"start": "00:00", "end": "00:00"})
        yield client


_policy_versions = iter(range(1, 1_000_000))


async def set_policy(client, nats_url: str, **notifications) -> None:
    """The default policy with these ``notifications`` settings, announced as the registry would; waits until it holds."""
    from cordon import policy
    from cordon.contracts.registry import PolicyChanged
    from cordon.policy import replica

    document = policy.default().model_dump(mode="json")
    document["notifications"].update(notifications)
    version = next(_policy_versions)
    await publish(nats_url, PolicyChanged(policy_version=version, document=document, changed_by="test"))

    async def holds():
        async with client.app.state.sessionmaker() as session:
            current = await replica.current(session)
        return current.notifications.model_dump(mode="json") == policy.Policy.model_validate(document).notifications.model_dump(mode="json")
    await eventually(holds)


@pytest.fixture
async def notify(databases, nats_server, tmp_path):
    async with notify_service(databases, nats_server.url, tmp_path / "home") as client:
        yield client


def vault(client) -> pii.Vault:
    return pii.Vault.from_hex(client.app_settings.pii_index_key, client.app_settings.pii_encryption_key)


async def publish(url: str, *events, key: str = "k", envelopes: list | None = None, redeliver: bool = False) -> list:
    """Publish each event as another service would: a CloudEvents envelope, Nats-Msg-Id = its id.

    ``redeliver``: a new message id for the same envelope, as a republish after the stream's
    duplicate window would be; only the consumer's inbox stands between it and a second message."""
    sent = envelopes if envelopes is not None else [wrap(e, source="cordon/test", key=key) for e in events]
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        for envelope in sent:
            await js.publish(envelope.nats_subject, envelope.to_json(), headers={"Nats-Msg-Id": uuid.uuid4().hex if redeliver else str(envelope.id)})
    finally:
        await nc.close()
    return sent


@contextlib.asynccontextmanager
async def provider_stub(*args: str):
    """The provider stand-in in its own process on a loopback port; yields its base URL."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "tests.notify.integration.provider_stub", str(port), *args], cwd=ROOT)
    try:
        for _ in range(200):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.1):
                break
            await asyncio.sleep(0.05)
        else:
            raise RuntimeError("provider stub did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def stub_deliveries(base_url: str) -> dict:
    async with httpx.AsyncClient() as client:
        return (await client.get(f"{base_url}/deliveries")).json()


async def projected(client, *people) -> None:
    """Wait until the notify service has projected these people and staff users (events of other streams are not
    ordered after them)."""
    from services.notify.models import PersonRef, StaffRef

    async def known():
        async with client.app.state.sessionmaker() as session:
            return all([
                await session.get(PersonRef, p.person_id) if hasattr(p, "person_id") else await session.get(StaffRef, p.user_id)
                for p in people
            ])
    await eventually(known)
