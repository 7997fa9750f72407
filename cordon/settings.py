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

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICES = ("registry", "testing", "events", "notify", "gateway")


class Settings(BaseSettings):
    """Settings shared by every service; a service subclasses it and sets ``service``."""

    model_config = SettingsConfigDict(env_prefix="CORDON_", extra="ignore")

    service: ClassVar[str] = "cordon"

    env: Literal["dev", "prod"] = "dev"
    home: Path = Path(".cordon")
    nats_url: str | None = None
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

    @model_validator(mode="after")
    def _resolve(self) -> Settings:
        if not self.database_url:
            own = os.environ.get(f"CORDON_{self.service.upper()}_DATABASE_URL")
            self.database_url = own or f"sqlite+aiosqlite:///{self.home / 'data' / (self.service + '.db')}"
        if self.jwt_public_key_file is None:
            if self.env != "dev":  # production makes no keys of its own: this one would never exist
                raise ValueError("CORDON_JWT_PUBLIC_KEY_FILE is required outside dev mode")
            self.jwt_public_key_file = self.home / "keys" / "jwt_public.pem"
        if self.env == "dev":
            from cordon import keys

            dev = keys.dev_secrets(self.home)
            self.pii_index_key = self.pii_index_key or dev.pii_index_key
            self.pii_encryption_key = self.pii_encryption_key or dev.pii_encryption_key
        elif not (self.pii_index_key and self.pii_encryption_key):
            raise ValueError("CORDON_PII_INDEX_KEY and CORDON_PII_ENCRYPTION_KEY are required outside dev mode")
        return self

    @cached_property
    def jwt_public_key(self) -> str:
        assert self.jwt_public_key_file is not None
        return self.jwt_public_key_file.read_text()

    @property
    def source(self) -> str:
        """CloudEvents ``source`` of this service's events."""
        return f"cordon/{self.service}"
