"""The door (CONTRACT "Security of the door"): sign-in attempts limited per account, per phone and per
client address (429 too_many_attempts with Retry-After), a login code's five guesses per phone and hour,
the client address read through trusted proxies only, signed-in callers limited as themselves, limits
shared by replicas through Redis, and no write lock held while a password is checked."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from cordon import clock
from cordon.natsserver import free_port
from gateway.auth import passwords
from gateway.limits import Limit, RedisBuckets
from gateway.models import SmsCode
from tests.gateway.integration.conftest import ADMIN_PASSWORD, admin_headers
from tests.gateway.integration.test_auth import _code_from_stream
from tests.serving import eventually, listening, start_service
from tests.tokens import bearer

TOKEN = "/api/v1/auth/token"


@pytest.fixture
def redis_url(tmp_path):
    """A Redis of the test's own (the Debian package's server, on a free port, keeping nothing on disk)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        listening(process, port, "redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
async def door(databases, nats_server, registry):
    """A gateway with small limits, behind a trusted proxy on loopback (so each test picks its client address)."""
    async with start_service(
        "gateway", databases, nats_server.url, admin_password=ADMIN_PASSWORD, registry_url=str(registry.base_url).rstrip("/"),
        password_failures_per_account_hour=3, password_failures_per_address_hour=6, sms_codes_per_address_hour=3,
        code_failures_per_address_hour=100, trusted_proxies="127.0.0.1/32",
    ) as gateway:
        yield gateway


def origin(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


async def _login(gateway, username, password, address="203.0.113.1"):
    return await gateway.post(TOKEN, data={"username": username, "password": password}, headers=origin(address))


async def test_wrong_passwords_are_limited_per_account(door):
    headers = await admin_headers(door)
    body = {"username": "wang.guarded", "password": "the-right-password", "role": "lab"}
    assert (await door.post("/api/v1/auth/users", json=body, headers=headers)).status_code == 201
    answers = [await _login(door, "wang.guarded", "wrong", address=f"198.51.100.{i}") for i in range(4)]
    assert [a.status_code for a in answers] == [401, 401, 401, 429]  # from four addresses: the account's limit
    refused = answers[-1]
    assert refused.json()["code"] == "too_many_attempts" and int(refused.headers["retry-after"]) >= 1
    # Even the right password waits now; another account from the same address does not.
    assert (await _login(door, "wang.guarded", "the-right-password", address="198.51.100.9")).status_code == 429
    assert (await _login(door, "admin", ADMIN_PASSWORD, address="198.51.100.3")).status_code == 200


async def test_wrong_passwords_are_limited_per_address_whatever_the_names(door):
    answers = [await _login(door, f"sprayed-{i}", "wrong", address="203.0.113.7") for i in range(7)]
    assert [a.status_code for a in answers] == [401] * 6 + [429]
    assert answers[-1].json()["code"] == "too_many_attempts"
    assert (await _login(door, "admin", ADMIN_PASSWORD, address="203.0.113.8")).status_code == 200


async def test_a_made_up_forwarded_for_does_not_open_a_new_bucket(databases, nats_server, registry):
    """Without trusted proxies, X-Forwarded-For is the client's own word and is not read."""
    async with start_service(
        "gateway", databases, nats_server.url, admin_password=ADMIN_PASSWORD, registry_url=str(registry.base_url).rstrip("/"),
        password_failures_per_address_hour=3,
    ) as gateway:
        answers = [await _login(gateway, f"n{i}", "wrong", address=f"192.0.2.{i}") for i in range(4)]
    assert [a.status_code for a in answers] == [401, 401, 401, 429]


async def test_sms_codes_are_limited_per_address(door):
    answers = [
        await door.post("/api/v1/auth/sms-code", json={"phone": f"1391234000{i}"}, headers=origin("203.0.113.20"))
        for i in range(4)
    ]
    assert [a.status_code for a in answers] == [202, 202, 202, 429]
    assert answers[-1].json()["code"] == "too_many_attempts" and int(answers[-1].headers["retry-after"]) >= 1
    other = await door.post("/api/v1/auth/sms-code", json={"phone": "13912340009"}, headers=origin("203.0.113.21"))
    assert other.status_code == 202


async def test_a_new_code_does_not_reset_the_wrong_guesses(door, nats_server):
    phone, now = "13812345670", clock.utcnow()
    door.app.state.clock = lambda: now
    assert (await door.post("/api/v1/auth/sms-code", json={"phone": phone})).status_code == 202
    first = await eventually(lambda: _code_from_stream(nats_server.url, door, phone))
    wrong = "000000" if first != "000000" else "111111"
    guesses = [await door.post("/api/v1/auth/resident-token", json={"phone": phone, "code": wrong}) for _ in range(5)]
    assert [g.status_code for g in guesses] == [401] * 5
    dead = await door.post("/api/v1/auth/resident-token", json={"phone": phone, "code": first})
    assert dead.status_code == 429 and dead.json()["code"] == "too_many_attempts"
    assert int(dead.headers["retry-after"]) == 3601
    # Two minutes on: a new code would give five more guesses, so none is sent until the hour is out.
    door.app.state.clock = lambda: now + timedelta(minutes=2)
    again = await door.post("/api/v1/auth/sms-code", json={"phone": phone})
    assert again.status_code == 429 and again.json()["code"] == "too_many_attempts"
    assert int(again.headers["retry-after"]) == 3481
    door.app.state.clock = lambda: now + timedelta(hours=1)
    assert (await door.post("/api/v1/auth/sms-code", json={"phone": phone})).status_code == 202
    second = await eventually(lambda: _fresh(nats_server.url, door, phone, first))
    signed_in = await door.post("/api/v1/auth/resident-token", json={"phone": phone, "code": second})
    assert signed_in.status_code == 200


async def _fresh(url, gateway, phone, old):
    code = await _code_from_stream(url, gateway, phone)
    return code if code != old else None


async def test_parallel_guesses_get_five_and_no_more(door, nats_server):
    phone = "13812345671"
    assert (await door.post("/api/v1/auth/sms-code", json={"phone": phone})).status_code == 202
    code = await eventually(lambda: _code_from_stream(nats_server.url, door, phone))
    wrong = "000000" if code != "000000" else "111111"
    answers = await asyncio.gather(*(
        door.post("/api/v1/auth/resident-token", json={"phone": phone, "code": wrong}) for _ in range(20)
    ))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [401] * 5 + [429] * 15
    async with door.app.state.sessionmaker() as session:
        assert (await session.execute(select(SmsCode.attempts))).scalars().all() == [5]


async def test_signed_in_callers_are_limited_as_themselves_not_by_their_address(databases, nats_server, registry):
    """A thousand gate scanners behind one NAT: each its own bucket. Unsigned requests share the address's."""
    async with start_service(
        "gateway", databases, nats_server.url, admin_password=ADMIN_PASSWORD, registry_url=str(registry.base_url).rstrip("/"),
    ) as gateway:
        # Buckets that do not refill within the test: two requests an address, two a caller.
        gateway.app.state.ip_limit = Limit("address", 1e-6, 2)
        gateway.app.state.principal_limit = Limit("principal", 1e-6, 2)
        scanners = [bearer("official", regions=["320413"], sub=f"scanner-{i}") for i in range(12)]
        answers = [await gateway.get("/api/v1/risk-areas", headers=h) for h in scanners]
        assert [a.status_code for a in answers] == [200] * 12  # one address, twelve callers
        anonymous = [await gateway.get("/api/v1/risk-areas") for _ in range(3)]
        assert [a.status_code for a in anonymous] == [401, 401, 429]
        busy = [await gateway.get("/api/v1/risk-areas", headers=scanners[0]) for _ in range(2)]
        assert [b.status_code for b in busy] == [200, 429]
        assert busy[-1].status_code == 429 and busy[-1].json()["code"] == "rate_limited"


async def test_no_write_lock_is_held_while_a_password_is_checked(door, monkeypatch):
    """A guesser parked inside argon2 must not keep anyone else from the database (SQLite: the write lock)."""
    checking, release = asyncio.Event(), asyncio.Event()
    real = passwords.verify_password

    async def parked(password_hash, password):
        if password == "parked-guess":
            checking.set()
            await release.wait()
        return await real(password_hash, password)

    headers = await admin_headers(door)
    monkeypatch.setattr(passwords, "verify_password", parked)
    guess = asyncio.create_task(_login(door, "admin", "parked-guess", address="203.0.113.40"))
    await asyncio.wait_for(checking.wait(), 30)
    try:
        created = await asyncio.wait_for(door.post(
            "/api/v1/auth/users", json={"username": f"lab-{uuid.uuid4().hex[:6]}", "password": "a-long-password", "role": "lab"},
            headers=headers,
        ), 10)  # a write, while the guess is being checked
        assert created.status_code == 201
        signed_in = await asyncio.wait_for(_login(door, "admin", ADMIN_PASSWORD, address="203.0.113.41"), 10)
        assert signed_in.status_code == 200
    finally:
        release.set()
    assert (await guess).status_code == 401


async def test_redis_down_leaves_each_replica_its_own_limits(databases, nats_server, registry):
    dead = f"redis://127.0.0.1:{free_port()}/0"
    async with start_service(
        "gateway", databases, nats_server.url, admin_password=ADMIN_PASSWORD, registry_url=str(registry.base_url).rstrip("/"),
        password_failures_per_account_hour=2, redis_url=dead,
    ) as gateway:
        answers = [await _login(gateway, "nobody-here", "wrong") for _ in range(3)]
        assert [a.status_code for a in answers] == [401, 401, 429]
        assert (await _login(gateway, "admin", ADMIN_PASSWORD)).status_code == 200


async def test_replicas_share_their_limits_through_redis(databases, nats_server, registry, redis_url):
    limits = dict(password_failures_per_account_hour=3, redis_url=redis_url, admin_password=ADMIN_PASSWORD,
                  registry_url=str(registry.base_url).rstrip("/"))
    async with start_service("gateway", databases, nats_server.url, **limits) as first:
        url = first.app_settings.database_url
        async with start_service("gateway", databases, nats_server.url, database_url=url, **limits) as second:
            answers = [await _login(replica, "admin", "wrong") for replica in (first, second, first, second)]
            assert [a.status_code for a in answers] == [401, 401, 401, 429]  # one bucket, two replicas
            assert (await _login(second, "admin", ADMIN_PASSWORD)).status_code == 429
            # A signed-in caller's rate is shared too.
            second.app.state.principal_limit = first.app.state.principal_limit = Limit("principal", 0.01, 2)
            official = bearer("official", regions=["320413"], sub="one-official")
            seen = [(await r.get("/api/v1/risk-areas", headers=official)).status_code for r in (first, second, first)]
            assert seen == [200, 200, 429]


async def test_the_redis_bucket_refills_by_its_own_clock(redis_url):
    store = RedisBuckets(redis_url)
    try:
        limit = Limit("unit", rate=2.0, burst=2)
        assert [await store.take(limit, "k") for _ in range(2)] == [0.0, 0.0]
        assert 0 < await store.waiting(limit, "k") <= 0.5
        assert await store.waiting(limit, "never-seen") == 0.0
        assert await eventually(lambda: _refilled(store, limit))
        assert await store.client.pttl(f"{store.prefix}unit:k") > 0  # keys expire once full again
    finally:
        await store.close()


async def _refilled(store, limit) -> bool:
    return await store.waiting(limit, "k") == 0.0


def test_cordon_serve_reads_no_forwarded_for_of_its_own(tmp_path):
    """The process as deployed (`cordon serve gateway`): a made-up X-Forwarded-For from loopback does not
    become the client's address (uvicorn's own proxy headers would believe 127.0.0.1)."""
    import httpx

    env = {k: v for k, v in os.environ.items() if not k.startswith("CORDON_")}
    env.update(CORDON_HOME=str(tmp_path / "home"), CORDON_LOG_LEVEL="WARNING", CORDON_PASSWORD_FAILURES_PER_ADDRESS_HOUR="2",
               CORDON_ADMIN_PASSWORD=ADMIN_PASSWORD)
    subprocess.run([sys.executable, "-m", "cordon", "migrate", "gateway"], env=env, cwd=tmp_path, check=True,
                   capture_output=True, timeout=120)
    port = free_port()
    log = open(tmp_path / "gateway.log", "wb")
    gateway = subprocess.Popen([sys.executable, "-m", "cordon", "serve", "gateway", "--port", str(port)], env=env,
                               cwd=tmp_path, stdout=log, stderr=log)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_alive(url)
        statuses = [
            httpx.post(f"{url}{TOKEN}", data={"username": "x", "password": "wrong"},
                       headers={"X-Forwarded-For": f"192.0.2.{i}"}, timeout=30).status_code
            for i in range(3)
        ]
        assert statuses == [401, 401, 429]
    finally:
        gateway.terminate()
        gateway.wait(30)
        log.close()


def wait_alive(url) -> None:
    """Up and answering (without NATS its /readyz is 503 by design: the process is what is waited for)."""
    import httpx

    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the gateway did not start"
        time.sleep(0.1)
