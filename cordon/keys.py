"""Secrets of the embedded dev mode, generated once under ``CORDON_HOME/keys`` (mode 600).

Production passes its secrets in the environment; nothing here runs there.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

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


# --- The JWT pair's key ids: the gateway names its signing key in each token's header (`kid`); the
# public key file may hold several keys (PEM blocks), so tokens signed before a rotation verify
# until they expire (`cordon rotate-keys`, `cordon export-keys`).

_PEM_BLOCK = re.compile(rb"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.S)


def _raw(public_key: Ed25519PublicKey) -> bytes:
    """A public key's raw 32 bytes (what its kid is made of and what a JWK's ``x`` holds)."""
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def kid_of(public_key: Ed25519PublicKey) -> str:
    """A key's id: the first 16 characters of the base64url SHA-256 of its raw 32 bytes (stable, derived)."""
    return base64.urlsafe_b64encode(hashlib.sha256(_raw(public_key)).digest()).decode()[:16]


@lru_cache(maxsize=16)
def public_keys(pem: str) -> dict[str, Ed25519PublicKey]:
    """Every public key in a PEM text, by kid, in file order (the last is the newest)."""
    found = {}
    for block in _PEM_BLOCK.findall(pem.encode()):
        key = serialization.load_pem_public_key(block)
        if isinstance(key, Ed25519PublicKey):
            found[kid_of(key)] = key
    return found


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _replace(path: Path, content: bytes, mode: int) -> None:
    """Write ``path`` whole or not at all (a reader never sees half a key file)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(content)
    os.replace(tmp, path)


def rotate_jwt_keys(private_file: Path, public_file: Path) -> tuple[str, list[str]]:
    """A new signing pair: its public key joins the public file first, then it replaces the private key.

    Services verify by kid and re-read the public file when a token names a kid they do not know,
    so tokens signed with the new key are accepted at once and older tokens until they expire.
    Returns the new kid and the kids the public file now holds."""
    key = Ed25519PrivateKey.generate()
    kept = public_file.read_bytes() if public_file.exists() else b""
    blocks = [b.decode() for b in _PEM_BLOCK.findall(kept)]
    _replace(public_file, ("\n".join(b.strip() for b in blocks) + "\n" if blocks else "").encode() + public_pem(key.public_key()),
             0o644)
    _replace(private_file, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()), 0o600)
    return kid_of(key.public_key()), list(public_keys(public_file.read_text()))


def retire_jwt_key(public_file: Path, kid: str, signing_kid: str) -> list[str]:
    """Drop ``kid`` from the public file (tokens it signed are refused from then on); never the signing key."""
    if kid == signing_kid:
        raise ValueError("the signing key cannot be retired")
    keys = public_keys(public_file.read_text())
    if kid not in keys:
        raise KeyError(kid)
    _replace(public_file, b"".join(public_pem(k) for k_id, k in keys.items() if k_id != kid), 0o644)
    return [k for k in keys if k != kid]


def signing_key(private_file: Path) -> tuple[Ed25519PrivateKey, str]:
    key = serialization.load_pem_private_key(private_file.read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key, kid_of(key.public_key())


def jwks(pem: str) -> dict:
    """The public keys as a JSON Web Key Set (RFC 8037, OKP Ed25519), newest last."""
    return {"keys": [
        {"kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA", "kid": kid,
         "x": base64.urlsafe_b64encode(_raw(key)).decode().rstrip("=")}
        for kid, key in public_keys(pem).items()
    ]}
