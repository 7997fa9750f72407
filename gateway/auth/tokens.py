"""Tokens the gateway signs (Ed25519); every service verifies them with the public half."""

from __future__ import annotations

import time
import uuid
from functools import lru_cache
from pathlib import Path

import jwt

from cordon import keys
from cordon.auth import ALGORITHM


@lru_cache(maxsize=4)
def _signing_key(path: Path, _version: int):
    return keys.signing_key(path)


def _private_key(path: Path):
    """The signing key and its kid, read again when the file changes (`cordon rotate-keys`)."""
    return _signing_key(path, path.stat().st_mtime_ns)


def issue(
    *,
    key_file: Path,
    issuer: str,
    audience: str,
    subject: str,
    role: str,
    ttl_s: int,
    regions: list[str] | tuple[str, ...] = (),
    username: str | None = None,
    person_id: uuid.UUID | None = None,
    phone_index: str | None = None,
    scopes: list[str] | tuple[str, ...] = (),
) -> str:
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "role": role,
        "regions": list(regions),
        "iat": now,
        "exp": now + ttl_s,
        "jti": uuid.uuid4().hex,
    }
    if username:
        claims["username"] = username
    if person_id:
        claims["person_id"] = str(person_id)
    if phone_index:
        claims["phone_index"] = phone_index
    if scopes:
        claims["scopes"] = list(scopes)
    key, kid = _private_key(key_file)
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": kid})
