"""Secrets of the embedded dev mode, generated once under ``CORDON_HOME/keys`` (mode 600).

Production passes its secrets in the environment; nothing here runs there.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

PASS_KID_TIME = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class DevSecrets:
    pii_index_key: str
    pii_encryption_key: str


def _write_once(path: Path, content: bytes) -> None:
    """Create ``path`` with ``content`` unless it exists; safe when several processes race."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(content)
    try:
        os.link(tmp, path)  # fails if another process won the race: theirs stands
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


def ensure_jwt_keypair(home: Path) -> tuple[Path, Path]:
    """The Ed25519 pair the gateway signs with and every service verifies with."""
    private, public = home / "keys" / "jwt_private.pem", home / "keys" / "jwt_public.pem"
    if not private.exists():
        key = Ed25519PrivateKey.generate()
        _write_once(
            private,
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
        )
    if not public.exists():
        key = serialization.load_pem_private_key(private.read_bytes(), password=None)
        _write_once(
            public, key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
    return private, public


def dev_secrets(home: Path) -> DevSecrets:
    path = home / "keys" / "pii.json"
    if not path.exists():
        _write_once(
            path,
            json.dumps({"pii_index_key": secrets.token_hex(32), "pii_encryption_key": secrets.token_hex(32)}).encode(),
        )
    ensure_jwt_keypair(home)
    return DevSecrets(**json.loads(path.read_text()))


def new_pass_key(directory: Path, now: datetime | None = None) -> str:
    """A fresh Ed25519 key for health-code passes in ``directory``, named by its kid (its UTC creation time).

    The newest key signs; older ones stay published until the passes they signed have expired.
    """
    now = now or datetime.now(UTC)
    kid = f"{now.strftime(PASS_KID_TIME)}-{secrets.token_hex(3)}"
    key = Ed25519PrivateKey.generate()
    _write_once(
        directory / f"{kid}.pem",
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )
    return kid


def ensure_pass_key(directory: Path) -> None:
    """The embedded dev mode's first pass key, once."""
    if not any(directory.glob("*.pem")):
        new_pass_key(directory)
