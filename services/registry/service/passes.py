"""Health-code passes: signed here, where the colour and its version live; verified here for gates and staff.

Keys are Ed25519 files ``<kid>.pem`` in one directory (the kid starts with the key's UTC creation
time). The newest key whose time has come signs; an older key stays published (JWKS) and
accepted until every pass it signed has expired, then drops out by itself. Rotation is adding a
file (``cordon pass-key``); no restart: the directory is re-read when it changes.
"""

from __future__ import annotations

import base64
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from cordon import pii
from cordon.keys import PASS_KID_TIME
from services.registry.domain import health_pass
from services.registry.models import HealthCode

log = logging.getLogger("cordon.registry.passes")

ALGORITHM = "EdDSA"
LEEWAY_S = 30  # clocks of scanners and servers disagree a little


@dataclass(frozen=True)
class PassKey:
    kid: str
    created: float  # Unix time, from the kid
    private: Ed25519PrivateKey
    public: Ed25519PublicKey

    def jwk(self) -> dict:
        raw = self.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": self.kid, "use": "sig", "alg": ALGORITHM}


def _created(kid: str) -> float | None:
    try:
        return datetime.strptime(kid.split("-", 1)[0], PASS_KID_TIME).replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


class Keyring:
    def __init__(self, directory: Path, *, ttl_s: int) -> None:
        self.directory, self.ttl_s = directory, ttl_s
        self._stamp: float | None = None
        self._keys: list[PassKey] = []  # oldest first

    def _keys_now(self) -> list[PassKey]:
        stamp = os.stat(self.directory).st_mtime_ns
        if stamp != self._stamp:
            keys = []
            for path in self.directory.glob("*.pem"):
                created = _created(path.stem)
                key = serialization.load_pem_private_key(path.read_bytes(), password=None)
                if created is None or not isinstance(key, Ed25519PrivateKey):
                    log.warning("pass key ignored: not an Ed25519 key named by its time", extra={"file": path.name})
                    continue
                keys.append(PassKey(path.stem, created, key, key.public_key()))
            if not keys:
                raise RuntimeError(f"no health-code pass key in {self.directory}")
            self._keys, self._stamp = sorted(keys, key=lambda k: (k.created, k.kid)), stamp
        return self._keys

    def signing(self, now: float) -> PassKey:
        keys = self._keys_now()
        due = [k for k in keys if k.created <= now + LEEWAY_S]
        return due[-1] if due else keys[0]

    def published(self, now: float) -> list[PassKey]:
        """Keys a pass may be signed with: the signing one, newer ones, and older ones for one pass lifetime."""
        keys, signing = self._keys_now(), self.signing(now)
        kept = []
        for i, key in enumerate(keys):
            successor = keys[i + 1] if i + 1 < len(keys) else None
            if key.created >= signing.created or successor is None or now < successor.created + self.ttl_s + LEEWAY_S:
                kept.append(key)
        return kept

    def public(self, kid: str, now: float) -> Ed25519PublicKey | None:
        return next((k.public for k in self.published(now) if k.kid == kid), None)

    def jwks(self, now: float) -> dict:
        return {"keys": [k.jwk() for k in self.published(now)]}


def issue_pass(
    *, keyring: Keyring, person_id: uuid.UUID, color: str, name: str, version: int, issuer: str, now: datetime,
    ttl: timedelta,
) -> tuple[str, datetime]:
    """A pass for a person's colour as it stands (with its version), and when it expires."""
    key = keyring.signing(now.timestamp())
    claims = health_pass.claims(
        person_id=person_id, color=color, name_masked=pii.mask_name(name),
        version=version, issuer=issuer, now=now, ttl=ttl, pass_id=uuid.uuid4().hex,
    )
    token = jwt.encode(claims, key.private, algorithm=ALGORITHM, headers={"kid": key.kid, "typ": health_pass.TYPE})
    return token, datetime.fromtimestamp(claims["exp"], UTC)


def read_pass(*, keyring: Keyring, token: str, issuer: str) -> health_pass.PassClaims | str:
    """The pass's claims when its signature holds under a published key and it has not expired; else why not."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return "malformed"
    if header.get("alg") != ALGORITHM:
        return "algorithm_not_allowed"
    kid = header.get("kid")
    key = keyring.public(kid, time.time()) if isinstance(kid, str) else None
    if key is None:
        return "unknown_key"
    try:
        claims = jwt.decode(
            token, key, algorithms=[ALGORITHM], audience=health_pass.AUDIENCE, issuer=issuer, leeway=LEEWAY_S,
            options={"require": ["exp", "sub", "color", "ver", "name"]},
        )
        return health_pass.PassClaims(
            person_id=uuid.UUID(claims["sub"]), color=str(claims["color"]), name_masked=str(claims["name"]),
            version=int(claims["ver"]), expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        )
    except jwt.ExpiredSignatureError:
        return "expired"
    except jwt.InvalidSignatureError:
        return "bad_signature"
    except (jwt.PyJWTError, ValueError, TypeError):
        return "malformed"


def engine_versions(engine: AsyncEngine) -> Callable[[uuid.UUID], Awaitable[int | None]]:
    """A person's colour version, read on a bare connection of ``engine`` (no ORM session)."""

    async def version(person_id: uuid.UUID) -> int | None:
        async with engine.connect() as conn:
            return (await conn.execute(select(HealthCode.version).where(HealthCode.person_id == person_id))).scalar()

    return version


async def verify_pass(
    *, versions: Callable[[uuid.UUID], Awaitable[int | None]], keyring: Keyring, token: str, issuer: str
) -> dict:
    """The answer a gate gets: valid with colour, masked name and expiry, or not valid with a reason.

    A hot path: the signature, then one indexed read of the person's colour version (``versions``:
    the engine's bare connection, or the driver's prepared statement in ``hot_reads``).
    """
    seen = read_pass(keyring=keyring, token=token, issuer=issuer)
    if isinstance(seen, str):
        return {"valid": False, "reason": seen}
    current = await versions(seen.person_id)
    reason = health_pass.judge(current, seen)
    if reason:
        return {"valid": False, "reason": reason}
    return {"valid": True, "color": seen.color, "name_masked": seen.name_masked, "expires_at": seen.expires_at}
