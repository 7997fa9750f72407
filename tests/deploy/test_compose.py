"""deploy/docker-compose.yml: valid against the compose spec, coherent, and running the runner's entrypoints."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

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


def test_env_example_satisfies_production_settings(monkeypatch, tmp_path):
    """Production settings refuse missing secrets; the example names every one of them."""
    from services.registry.app import RegistrySettings

    names = [line.split("=", 1)[0] for line in (DEPLOY / ".env.example").read_text().splitlines() if "=" in line and not line.startswith("#")]
    for name in ("CORDON_ENV", "CORDON_PII_INDEX_KEY", "CORDON_PII_ENCRYPTION_KEY", "CORDON_JWT_PUBLIC_KEY_FILE",
                 "CORDON_JWT_PRIVATE_KEY_FILE", "CORDON_ADMIN_PASSWORD", "POSTGRES_PASSWORD", "CORDON_PASS_KEYS_DIR"):
        assert name in names
    monkeypatch.setenv("CORDON_ENV", "prod")
    monkeypatch.setenv("CORDON_HOME", str(tmp_path))
    monkeypatch.setenv("CORDON_PII_INDEX_KEY", "11" * 32)
    monkeypatch.setenv("CORDON_PII_ENCRYPTION_KEY", "22" * 32)
    monkeypatch.setenv("CORDON_PASS_KEYS_DIR", str(tmp_path / "pass"))
    assert RegistrySettings().env == "prod"
    assert not (tmp_path / "keys").exists()  # production generates no keys of its own
