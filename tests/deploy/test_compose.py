"""deploy/docker-compose.yml: valid against the compose spec, coherent, and running the runner's entrypoints."""

from __future__ import annotations

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
    init = (DEPLOY / "postgres" / "init.sql").read_text()
    for name in SERVICES:
        assert f"CREATE DATABASE {name};" in init


def test_cluster_profile_has_three_jetstream_nodes(compose):
    nodes = [n for n, s in compose["services"].items() if "cluster" in s.get("profiles", [])]
    assert sorted(nodes) == ["nats-a", "nats-b", "nats-c"]
    conf = (DEPLOY / "nats-cluster.conf").read_text()
    assert "jetstream" in conf and conf.count("nats-route://") == 3


def _env_example(tmp_path) -> dict[str, str]:
    """deploy/.env.example with its placeholders filled as an operator would: fresh keys, a real key pair."""
    import secrets

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

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
    }
    assert set(filled) <= set(env), "a secret the example does not name"
    return {**env, **filled, "CORDON_HOME": str(tmp_path / "home")}


# What production refuses to start without (the admin password is generated on first start if unset).
REQUIRED = {
    "CORDON_PII_INDEX_KEY": "cordon", "CORDON_PII_ENCRYPTION_KEY": "cordon", "CORDON_JWT_PUBLIC_KEY_FILE": "cordon",
    "CORDON_JWT_PRIVATE_KEY_FILE": "gateway", "CORDON_PASS_KEYS_DIR": "registry", "CORDON_SMS_PROVIDER_URL": "notify",
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
    for service in SERVICES if REQUIRED[secret] == "cordon" else [REQUIRED[secret]]:
        with pytest.raises(ValueError, match=secret):
            services.settings(service)


def test_compose_refuses_to_start_without_the_database_password(compose):
    """Every use of POSTGRES_PASSWORD in the compose file is ${POSTGRES_PASSWORD:?...}: unset, compose stops."""
    text = (DEPLOY / "docker-compose.yml").read_text()
    uses = text.count("${POSTGRES_PASSWORD")
    assert uses >= 6 and text.count("${POSTGRES_PASSWORD:?") == uses
