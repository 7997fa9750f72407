"""One typed settings object per service, read from the environment only (prefix CORDON_).

The embedded dev mode (``CORDON_ENV=dev``, the default) keeps everything under
``CORDON_HOME`` (``.cordon/``): SQLite files, the NATS store, generated keys.
Outside dev mode every secret must be given; defaults are refused.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICES = ("registry", "testing", "events", "notify", "gateway")


class MissingSecrets(ValueError):
    """A process refuses to start: each missing (or unusable) secret named, in one line."""

    def __init__(self, service: str, env: str, missing: list[str]) -> None:
        self.service, self.missing = service, missing
        where = "in production (CORDON_ENV=prod)" if env == "prod" else "with these settings"
        super().__init__(f"{service} cannot start {where}: missing {'; '.join(missing)}")


def refusal(exc: ValidationError | MissingSecrets, service: str) -> str:
    """The one line a process prints instead of a traceback when its settings refuse to start."""
    if isinstance(exc, MissingSecrets):
        return str(exc)
    found = [e.get("ctx", {}).get("error") for e in exc.errors()]
    secrets = [f for f in found if isinstance(f, MissingSecrets)]
    if secrets:
        return str(secrets[0])
    bad = [f"CORDON_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" if e["loc"] else e["msg"] for e in exc.errors()]
    return f"{service} cannot start: {'; '.join(bad)}"


def home_dir() -> Path:
    """CORDON_HOME (default ``.cordon``), read without building a service's settings (which need its secrets)."""
    return Path(os.environ.get("CORDON_HOME", ".cordon"))


def database_url(service: str, home: Path | None = None) -> str:
    """A process's database: CORDON_<SERVICE>_DATABASE_URL, else a SQLite file under ``home`` (by default
    CORDON_HOME): what migrations need, without the secrets a running process needs."""
    own = os.environ.get("CORDON_DATABASE_URL") or os.environ.get(f"CORDON_{service.upper()}_DATABASE_URL")
    home = home if home is not None else home_dir()
    return own or f"sqlite+aiosqlite:///{home / 'data' / (service + '.db')}"


def _hex_key(value: str) -> bool:
    try:
        return len(bytes.fromhex(value)) == 32
    except ValueError:
        return False


def secret_file(name: str, path: Path | None) -> str | None:
    """What is wrong with a secret file setting, or None."""
    if path is None:
        return name
    if not path.is_file():
        return f"{name} (no file at {path})"
    if not os.access(path, os.R_OK):
        return f"{name} ({path} is not readable by uid {os.getuid()})"
    return None


class Settings(BaseSettings):
    """Settings shared by every service; a service subclasses it and sets ``service``."""

    model_config = SettingsConfigDict(env_prefix="CORDON_", extra="ignore")

    service: ClassVar[str] = "cordon"

    env: Literal["dev", "prod"] = "dev"
    home: Path = Path(".cordon")
    nats_url: str | None = None
    # NATS credentials (required in production): a user and password, or a .creds file (NKEY/JWT).
    nats_user: str | None = None
    nats_password: str | None = Field(default=None, repr=False)
    nats_creds_file: Path | None = None
    # A service's own database: CORDON_<SERVICE>_DATABASE_URL, else a SQLite file under home.
    database_url: str = ""
    jwt_public_key_file: Path | None = None
    jwt_issuer: str = "cordon"
    jwt_audience: str = "cordon"
    # Keys for personal data: a keyed blind index shared by all services, and encryption at rest.
    pii_index_key: str = Field(default="", repr=False)
    pii_encryption_key: str = Field(default="", repr=False)
    log_level: str = "INFO"
    stream_replicas: int = 1  # 3 on a JetStream cluster
    relay_batch: int = 500
    relay_max_backoff_s: float = 30.0
    # /metrics: on its own port as well (internal, never published), and/or behind a bearer token.
    metrics_port: int | None = None
    metrics_host: str = "0.0.0.0"
    metrics_token: str = Field(default="", repr=False)
    # A service's fast paths (cordon.fastpath) read through the driver on PostgreSQL: on or off, and the
    # driver pool's size (a few connections keep one process's core busy: docs/scaling.md).
    hot_reads: bool = True
    hot_pool_size: int = 4
    metrics_refresh_s: float = 15.0  # how often the gauges (outbox, dead letters, lag...) are read again

    @model_validator(mode="after")
    def _resolve(self) -> Settings:
        if not self.database_url:  # CORDON_DATABASE_URL is unset (or empty): the service's own, else its file
            self.database_url = database_url(self.service, self.home)
        if self.env == "dev":  # zero configuration: generated keys under CORDON_HOME
            from cordon import keys

            if self.jwt_public_key_file is None:
                self.jwt_public_key_file = self.home / "keys" / "jwt_public.pem"
            dev = keys.dev_secrets(self.home)
            self.pii_index_key = self.pii_index_key or dev.pii_index_key
            self.pii_encryption_key = self.pii_encryption_key or dev.pii_encryption_key
        self.dev_defaults()
        missing = self.missing_secrets()
        if missing:  # production makes no secrets of its own: each one it lacks is named, all at once
            raise MissingSecrets(self.service, self.env, missing)
        return self

    def dev_defaults(self) -> None:
        """A process's own generated defaults in dev mode (its key files...); nothing in production."""

    def missing_secrets(self) -> list[str]:
        """Each secret this process lacks, by its variable (with what is wrong, where it is set but unusable).

        In dev mode only inconsistent settings count (a provider named without its credentials)."""
        if self.env == "dev":
            return []
        missing = [m for m in [secret_file("CORDON_JWT_PUBLIC_KEY_FILE", self.jwt_public_key_file)] if m]
        for name, value in (("CORDON_PII_INDEX_KEY", self.pii_index_key), ("CORDON_PII_ENCRYPTION_KEY", self.pii_encryption_key)):
            if not value:
                missing.append(name)
            elif not _hex_key(value):
                missing.append(f"{name} (not 32 bytes in hex)")
        if not self.nats_url:
            missing.append("CORDON_NATS_URL")
        if self.nats_creds_file is not None:
            if (wrong := secret_file("CORDON_NATS_CREDS_FILE", self.nats_creds_file)) is not None:
                missing.append(wrong)
        elif not (self.nats_user and self.nats_password):
            missing.append("CORDON_NATS_USER and CORDON_NATS_PASSWORD (or CORDON_NATS_CREDS_FILE)")
        return missing

    def nats_options(self) -> dict:
        """The credentials nats.connect() takes, as set."""
        if self.nats_creds_file is not None:
            return {"user_credentials": str(self.nats_creds_file)}
        if self.nats_user:
            return {"user": self.nats_user, "password": self.nats_password or ""}
        return {}

    @cached_property
    def jwt_public_key(self) -> str:
        assert self.jwt_public_key_file is not None
        return self.jwt_public_key_file.read_text()

    @property
    def source(self) -> str:
        """CloudEvents ``source`` of this service's events."""
        return f"cordon/{self.service}"
