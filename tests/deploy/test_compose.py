"""deploy/docker-compose.yml: valid against the compose spec, coherent, and running the runner's entrypoints."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cordon import services
from cordon.cli import build_parser
from cordon.runner import serve_args
from cordon.settings import SERVICES

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def test_valid_against_the_compose_spec():
    tool = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent)) or shutil.which("check-jsonschema")
    assert tool, "check-jsonschema is a dev dependency"
    result = subprocess.run(
        [tool, "--builtin-schema", "vendor.compose-spec", str(DEPLOY / "docker-compose.yml")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_dependency_is_defined(compose):
    defined = set(compose["services"])
    for name, service in compose["services"].items():
        for dependency in service.get("depends_on", {}):
            assert dependency in defined, f"{name} depends on undefined {dependency}"


def test_each_process_runs_the_runners_entrypoint(compose):
    services = compose["services"]
    for name in SERVICES:
        command = services[name]["command"]
        assert command == serve_args(name, "0.0.0.0", 8000), name
        build_parser().parse_args(command)  # a real `cordon` command line
    assert services["migrate"]["command"] == ["migrate"]
    build_parser().parse_args(["migrate"])
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["cordon"]' in dockerfile and "USER cordon" in dockerfile


def test_services_wait_for_health_and_migrations(compose):
    for name in SERVICES:
        deps = compose["services"][name]["depends_on"]
        assert deps["postgres"]["condition"] == "service_healthy"
        assert deps["nats"]["condition"] == "service_healthy"
        assert deps["migrate"]["condition"] == "service_completed_successfully"
        assert compose["services"][name]["restart"] == "unless-stopped"
        assert "healthcheck" in compose["services"][name]


def test_one_database_per_service():
    init = (DEPLOY / "postgres" / "init.sh").read_text()  # run for real in tests/deploy/test_least_privilege.py
    assert "for service in registry testing events notify gateway; do" in init
    assert 'CREATE DATABASE :"name" OWNER :"name";' in init


def test_cluster_profile_has_three_jetstream_nodes(compose):
    nodes = [n for n, s in compose["services"].items() if "cluster" in s.get("profiles", [])]
    assert sorted(nodes) == ["nats-a", "nats-b", "nats-c"]
    conf = (DEPLOY / "nats-cluster.conf").read_text()
    assert "jetstream" in conf and conf.count("nats-route://") == 3
    for name in ["nats", *nodes]:  # every node has the users: none lets a client in without one
        assert "include ./nats-users.conf" in (DEPLOY / ("nats.conf" if name == "nats" else "nats-cluster.conf")).read_text()
        service = compose["services"][name]
        assert "./nats-users.conf:/etc/nats/nats-users.conf:ro" in service["volumes"], name
        assert all(f"NATS_{n.upper()}_PASSWORD" in service["environment"] for n in SERVICES), name


def _env_example(tmp_path) -> dict[str, str]:
    """deploy/.env.example with its placeholders filled as an operator would: fresh keys, a real key pair."""
    import secrets

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from cordon import keys

    env = {}
    for line in (DEPLOY / ".env.example").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            name, value = line.split("=", 1)
            env[name] = value
    key = Ed25519PrivateKey.generate()
    private, public = tmp_path / "jwt_private.pem", tmp_path / "jwt_public.pem"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    filled = {
        "CORDON_PII_INDEX_KEY": secrets.token_hex(32), "CORDON_PII_ENCRYPTION_KEY": secrets.token_hex(32),
        "CORDON_JWT_PRIVATE_KEY_FILE": str(private), "CORDON_JWT_PUBLIC_KEY_FILE": str(public),
        "CORDON_ADMIN_PASSWORD": secrets.token_urlsafe(16), "POSTGRES_PASSWORD": secrets.token_urlsafe(16),
        "CORDON_PASS_KEYS_DIR": str(tmp_path / "pass"), "CORDON_SMS_PROVIDER_URL": "https://sms.example.gov.cn/send",
        "CORDON_NATS_PASSWORD": secrets.token_urlsafe(16),
    }
    assert set(filled) <= set(env), "a secret the example does not name"
    keys.new_pass_key(tmp_path / "pass")  # as the example's openssl line makes one
    # What the compose file itself gives every process.
    given = {"CORDON_NATS_URL": "nats://nats:4222"}
    return {**env, **filled, **given, "CORDON_HOME": str(tmp_path / "home")}


# What production refuses to start without, and which processes need it ("cordon": every one).
REQUIRED = {
    "CORDON_PII_INDEX_KEY": "cordon", "CORDON_PII_ENCRYPTION_KEY": "cordon", "CORDON_JWT_PUBLIC_KEY_FILE": "cordon",
    "CORDON_NATS_URL": "cordon", "CORDON_NATS_USER": "cordon", "CORDON_NATS_PASSWORD": "cordon",
    "CORDON_JWT_PRIVATE_KEY_FILE": "gateway", "CORDON_ADMIN_PASSWORD": "gateway", "CORDON_PASS_KEYS_DIR": "registry",
    "CORDON_SMS_PROVIDER_URL": "notify",
}


def test_env_example_filled_in_starts_every_service_in_production(monkeypatch, tmp_path):
    env = _env_example(tmp_path)
    assert env["CORDON_ENV"] == "prod"
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for service in SERVICES:
        settings = services.settings(service)
        assert settings.env == "prod" and settings.pii_index_key == env["CORDON_PII_INDEX_KEY"]
        assert "BEGIN PUBLIC KEY" in settings.jwt_public_key
    assert str(services.settings("gateway").jwt_private_key_file) == env["CORDON_JWT_PRIVATE_KEY_FILE"]
    assert not (tmp_path / "home").exists()  # production writes no keys or passwords of its own


@pytest.mark.parametrize("secret", sorted(REQUIRED))
def test_production_refuses_to_start_without_each_secret(monkeypatch, tmp_path, secret):
    for name, value in _env_example(tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv(secret)
    needing = SERVICES if REQUIRED[secret] == "cordon" else (REQUIRED[secret],)
    for service in needing:
        with pytest.raises(ValueError, match=secret):
            services.settings(service)
    refused = services.refusals()
    assert len(refused) == len(needing) and all(secret in line and "\n" not in line for line in refused), refused


@pytest.mark.parametrize("service", ["gateway", "notify"])
def test_wechat_switched_on_needs_its_secret(monkeypatch, tmp_path, service):
    for name, value in _env_example(tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CORDON_WECHAT_APP_ID", "wx0123456789abcdef")
    assert services.refusals([service]) == [
        f"{service} cannot start in production (CORDON_ENV=prod): missing CORDON_WECHAT_APP_SECRET (CORDON_WECHAT_APP_ID is set)"
    ]
    monkeypatch.setenv("CORDON_WECHAT_APP_SECRET", "s3cret")
    assert services.refusals([service]) == []


def test_a_short_admin_password_is_refused(monkeypatch, tmp_path):
    for name, value in _env_example(tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CORDON_ADMIN_PASSWORD", "change-me")
    assert services.refusals() == [
        "gateway cannot start in production (CORDON_ENV=prod): missing CORDON_ADMIN_PASSWORD (at least 10 characters)"
    ]


def test_a_key_the_process_cannot_read_is_named(monkeypatch, tmp_path):
    """Keys left root's 0600 while the image runs as uid 10001: one line at start, not a traceback later."""
    env = _env_example(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    unreadable = {Path(env["CORDON_JWT_PRIVATE_KEY_FILE"]), *Path(env["CORDON_PASS_KEYS_DIR"]).glob("*.pem")}
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) not in unreadable and real_access(path, mode))
    refused = services.refusals()
    assert len(refused) == 2, refused
    [gateway] = [line for line in refused if line.startswith("gateway ")]
    [registry] = [line for line in refused if line.startswith("registry ")]
    assert f"CORDON_JWT_PRIVATE_KEY_FILE ({env['CORDON_JWT_PRIVATE_KEY_FILE']} is not readable by uid" in gateway
    assert "CORDON_PASS_KEYS_DIR (" in registry and "is not readable by uid" in registry


def _cordon(args: list[str], env: dict[str, str], cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cordon", *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_each_process_names_every_missing_secret_in_one_line_and_exits(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORDON_")}
    env.update(_env_example(tmp_path))
    for secret in REQUIRED:
        env.pop(secret)
    for service in SERVICES:
        done = _cordon(["serve", service, "--port", "1"], env, tmp_path)
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr and done.stdout == ""
        [line] = done.stderr.splitlines()
        assert line.startswith(f"[cordon] {service} cannot start in production (CORDON_ENV=prod): missing ")
        for secret, needs in REQUIRED.items():
            assert (secret in line) == (needs in ("cordon", service)), (secret, line)
    assert not (tmp_path / "home").exists()  # nothing was written


def test_the_runner_checks_every_process_before_it_starts_anything(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORDON_")}
    env.update(_env_example(tmp_path))
    del env["CORDON_ADMIN_PASSWORD"], env["CORDON_NATS_URL"], env["CORDON_NATS_PASSWORD"]
    done = _cordon(["up", "--port", "1"], env, tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert any(line.startswith("[cordon] gateway cannot start") and "CORDON_ADMIN_PASSWORD" in line for line in lines)
    assert lines[-1] == ("[cordon] cordon up cannot start its own NATS in production: missing CORDON_NATS_USER and "
                         "CORDON_NATS_PASSWORD (or set CORDON_NATS_URL to a NATS of your own)")
    assert len(lines) == len(SERVICES) + 1  # every process lacks the NATS password
    assert not (tmp_path / "home").exists()  # no NATS store, no database, no key


def test_compose_refuses_to_start_without_the_database_password(compose):
    """Every use of a password in the compose file is ${..._PASSWORD:?...}: unset, compose stops."""
    text = (DEPLOY / "docker-compose.yml").read_text()
    uses = re.findall(r"\$\{((?:POSTGRES|NATS|CORDON_NATS|GRAFANA_ADMIN)\w*PASSWORD)(:\?)?", text)
    assert len(uses) >= 20 and all(guarded for _, guarded in uses), [name for name, guarded in uses if not guarded]
    assert {name for name, _ in uses} >= {"POSTGRES_PASSWORD", *(f"POSTGRES_{n.upper()}_PASSWORD" for n in SERVICES)}


def test_the_gateway_reads_the_client_address_and_shares_its_limits(compose):
    gateway = compose["services"]["gateway"]
    assert "CORDON_TRUSTED_PROXIES" in gateway["environment"]
    assert gateway["environment"]["CORDON_REDIS_URL"].startswith("redis://redis:")
    assert gateway["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "healthcheck" in compose["services"]["redis"]
    # /metrics is on an internal port, never among the published ones.
    port = str(gateway["environment"]["CORDON_METRICS_PORT"])
    assert all(port not in str(published) for published in gateway["ports"])
