"""Least privilege as deployed: a PostgreSQL role per service owning only its database (deploy/postgres/init.sh,
run against the real server), NATS users that publish only their own subjects (deploy/nats.conf, run by a
real nats-server), pinned images, resource limits, rotated logs, and an image built from a lock file."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import subprocess
import tomllib
from pathlib import Path

import asyncpg
import nats
import pytest
import yaml

from cordon.bus import streams
from cordon.natsserver import binary, free_ports
from cordon.settings import SERVICES
from tests.conftest import POSTGRES_URL
from tests.serving import listening

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
OWN_SUBJECT = {"registry": "registry", "testing": "testing", "events": "gatherings", "notify": "notify", "gateway": "auth"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def test_each_service_connects_as_its_own_role_and_nats_user(compose):
    for name in SERVICES:
        env = compose["services"][name]["environment"]
        urls = {k: v for k, v in env.items() if k.endswith("_DATABASE_URL")}
        assert list(urls) == [f"CORDON_{name.upper()}_DATABASE_URL"], name  # no other service's database
        assert urls[f"CORDON_{name.upper()}_DATABASE_URL"].startswith(f"postgresql+asyncpg://{name}:${{POSTGRES_{name.upper()}_PASSWORD")
        assert env["CORDON_NATS_USER"] == name
        assert env["CORDON_NATS_PASSWORD"].startswith(f"${{NATS_{name.upper()}_PASSWORD")
    migrate = compose["services"]["migrate"]["environment"]
    assert sorted(k for k in migrate if k.endswith("_DATABASE_URL")) == sorted(f"CORDON_{n.upper()}_DATABASE_URL" for n in SERVICES)
    example = (DEPLOY / ".env.example").read_text()
    for name in SERVICES:
        assert f"\nPOSTGRES_{name.upper()}_PASSWORD=" in example and f"\nNATS_{name.upper()}_PASSWORD=" in example


def test_images_pinned_limits_set_and_logs_rotated(compose):
    for name, service in compose["services"].items():
        image = service["image"]
        tag = image.rsplit(":", 1)[1] if ":" in image else ""
        assert re.search(r"\d", tag) and "latest" not in tag, (name, image)
        limits = service["deploy"]["resources"]["limits"]
        assert limits["cpus"] and limits["memory"], name
        assert service["logging"]["driver"] == "json-file" and service["logging"]["options"]["max-size"], name
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "pip install --no-cache-dir --no-deps -r /tmp/requirements.lock" in dockerfile
    assert all(re.search(r"python:\d+\.\d+\.\d+-slim", line) for line in dockerfile.splitlines() if line.startswith("FROM"))


def test_the_build_context_holds_only_what_the_image_copies():
    """.dockerignore leaves out everything (secrets in deploy/.env and deploy/secrets/, the dev home's keys, the
    virtualenv) but the sources deploy/Dockerfile copies, and lets each of them in."""
    lines = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")]
    assert lines[0] == "*"
    let_in = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    copied = set()
    for line in (DEPLOY / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            copied.update(source.rstrip("/") for source in line.split()[1:-1])
    assert let_in == copied
    assert all((ROOT / source).exists() for source in copied)
    assert "**/__pycache__" in lines[lines.index("*") + 1:]


def test_the_lock_pins_every_runtime_dependency():
    locked = {}
    for line in (DEPLOY / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"not pinned: {line}"
            locked[re.sub(r"[-_.]+", "-", name).lower()] = version
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for requirement in declared:
        name = re.sub(r"[-_.]+", "-", re.split(r"[\[<>=~! ]", requirement, maxsplit=1)[0]).lower()
        assert name in locked, f"{name} is a dependency but not in deploy/requirements.lock"


@pytest.mark.postgres
async def test_init_sh_gives_each_service_a_role_owning_only_its_database():
    assert POSTGRES_URL
    prefix = f"cordon_t_{secrets.token_hex(4)}_"
    admin = await asyncpg.connect(POSTGRES_URL)
    host = POSTGRES_URL.split("://", 1)[1].split("/", 1)[0]
    env = {**os.environ, "CORDON_ROLE_PREFIX": prefix, "POSTGRES_USER": admin._params.user, "POSTGRES_DB": "postgres",
           "PGHOST": host.split(":")[0], "PGPORT": host.split(":")[1] if ":" in host else "5432"}
    env.update({f"POSTGRES_{n.upper()}_PASSWORD": secrets.token_urlsafe(12) for n in SERVICES})
    try:
        done = subprocess.run(["sh", str(DEPLOY / "postgres" / "init.sh")], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        base = POSTGRES_URL.rsplit("/", 1)[0]
        registry = await asyncpg.connect(f"{base}/{prefix}registry", user=f"{prefix}registry")
        try:
            await registry.execute("CREATE TABLE person (id int); DROP TABLE person")  # owns its schema
            assert await registry.fetchval("SELECT rolsuper OR rolcreatedb OR rolcreaterole FROM pg_roles WHERE rolname = current_user") is False
        finally:
            await registry.close()
        with pytest.raises(asyncpg.InsufficientPrivilegeError):  # no CONNECT on another service's database
            await asyncpg.connect(f"{base}/{prefix}testing", user=f"{prefix}registry")
    finally:
        for name in SERVICES:
            await admin.execute(f'DROP DATABASE IF EXISTS "{prefix}{name}" WITH (FORCE)')
            await admin.execute(f'DROP ROLE IF EXISTS "{prefix}{name}"')
        await admin.close()


@contextlib.contextmanager
def _run_nats(tmp_path, conf_name: str):
    """deploy/<conf_name> (with the nats-users.conf it includes) run by a real nats-server, on free loopback
    ports, its store in tmp_path: yields its URL and the passwords its users were given. If it does not start,
    the failure quotes its log."""
    port, route_port = free_ports(2)
    conf = (DEPLOY / conf_name).read_text()
    conf = conf.replace("listen: 0.0.0.0:4222", f"listen: 127.0.0.1:{port}").replace("http: 0.0.0.0:8222", "")
    conf = conf.replace("listen: 0.0.0.0:6222", f"listen: 127.0.0.1:{route_port}")  # the cluster's routes
    conf = conf.replace("store_dir: /data/jetstream", f'store_dir: "{tmp_path / "js"}"')
    (tmp_path / "nats.conf").write_text(conf)
    (tmp_path / "nats-users.conf").write_text((DEPLOY / "nats-users.conf").read_text())
    # NATS reads a password from the environment as a bare word: one beginning with "-" or a digit may parse as
    # a number or a date and stop the server, so they begin with a letter, as deploy/.env.example asks.
    passwords = {f"NATS_{n.upper()}_PASSWORD": "p" + secrets.token_urlsafe(12) for n in SERVICES}
    passwords.update(CORDON_NATS_USER="cordon", CORDON_NATS_PASSWORD="p" + secrets.token_urlsafe(12))
    log = tmp_path / "nats.log"
    with log.open("wb") as output:
        process = subprocess.Popen([binary(), "-c", str(tmp_path / "nats.conf")],
                                   env={**os.environ, **passwords, "NATS_NAME": "nats-a"},
                                   stdout=output, stderr=subprocess.STDOUT)
    try:
        listening(process, port, f"nats-server with deploy/{conf_name}", log=log)
        yield f"nats://127.0.0.1:{port}", passwords
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def deployed_nats(tmp_path):
    """deploy/nats.conf run by a real nats-server."""
    with _run_nats(tmp_path, "nats.conf") as deployed:
        yield deployed


@pytest.mark.parametrize("conf_name", ["nats.conf", "nats-cluster.conf"])
async def test_every_nats_node_asks_for_a_user(tmp_path, conf_name):
    """The single node and each cluster node (its routes unreachable here) refuse a client without a user."""
    with _run_nats(tmp_path, conf_name) as (url, passwords):
        with pytest.raises(nats.errors.Error, match="Authorization Violation"):
            await nats.connect(url, allow_reconnect=False, connect_timeout=2)
        nc = await nats.connect(url, user="registry", password=passwords["NATS_REGISTRY_PASSWORD"], allow_reconnect=False)
        await nc.close()


async def test_nats_users_publish_only_their_own_subjects(deployed_nats):
    url, passwords = deployed_nats
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await nats.connect(url, user="registry", password="wrong", allow_reconnect=False, connect_timeout=2)

    async def connect(user: str, password: str):
        errors = []

        async def on_error(exc):
            errors.append(str(exc))

        nc = await nats.connect(url, user=user, password=password, error_cb=on_error, allow_reconnect=False)
        return nc, errors

    registry, registry_errors = await connect("registry", passwords["NATS_REGISTRY_PASSWORD"])
    js = registry.jetstream(timeout=2)
    await streams.declare(js, streams.STREAMS)  # every service declares the streams: the JetStream API is open
    ack = await js.publish("registry.person.registered", b"{}", headers={"Nats-Msg-Id": "a"})
    assert ack.stream == "REGISTRY"
    with pytest.raises(Exception):  # noqa: B017 - refused by the server: no ack ever comes
        await js.publish("testing.result.recorded", b"{}", timeout=1)
    assert any("permissions violation for publish" in e.lower() for e in registry_errors), registry_errors

    for name in SERVICES:  # each publishes its own, and consumes the others'
        nc, _ = await connect(name, passwords[f"NATS_{name.upper()}_PASSWORD"])
        ack = await nc.jetstream(timeout=2).publish(f"{OWN_SUBJECT[name]}.x.y", b"{}")
        assert ack.seq >= 1
        await nc.close()
    testing, _ = await connect("testing", passwords["NATS_TESTING_PASSWORD"])
    sub = await testing.jetstream(timeout=2).pull_subscribe("registry.>", durable="t", stream="REGISTRY")
    fetched = await sub.fetch(2, timeout=2)
    assert [m.subject for m in fetched] == ["registry.person.registered", "registry.x.y"]
    for msg in fetched:
        await msg.ack_sync(timeout=2)  # acknowledgements are allowed

    operator, _ = await connect("cordon", passwords["CORDON_NATS_PASSWORD"])  # `cordon dead-letters replay`
    assert (await operator.jetstream(timeout=2).publish("testing.result.recorded", b"{}")).stream == "TESTING"
    for nc in (registry, testing, operator):
        await nc.close()
