"""Health-code passes: signed here, where the colour and its version live; verified here for gates and staff.

Keys are Ed25519 files ``<kid>.pem`` in one directory (the kid starts with the key's UTC creation
time). The newest key whose time has come signs; an older key stays published (JWKS) and
accepted until every pass it signed has expired, then drops out by itself. Rotation is adding a
file (``cordon pass-key``); no restart: the directory is re-read when it changes (for verifying, looked
at once a second, and at once for a kid not yet known).

Verifying is a hot path (gates): a pass as this module issues it is read by ``_read_own_pass`` (one
split, the three segments decoded once, the key of its kid, the signature made again with it and
compared, the claims checked as PyJWT checks them); anything of another shape goes to ``_read_any_pass``
(PyJWT). Both give the same verdict for every token (tests/registry/unit/test_pass_reading.py holds them
so) but one that no one without the secret key can make: a signature that holds under the public key yet
is not the one this signer made, which only the one-pass reader refuses.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import math
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import nacl.bindings
import orjson
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
    private_raw: bytes = field(repr=False)  # the 64 bytes of the secret key (seed, public key), as libsodium takes them

    def jwk(self) -> dict:
        raw = self.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": self.kid, "use": "sig", "alg": ALGORITHM}


def _created(kid: str) -> float | None:
    try:
        return datetime.strptime(kid.split("-", 1)[0], PASS_KID_TIME).replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


@dataclass(frozen=True)
class _Published:
    """The published keys' public halves by kid, as ``Keyring.published`` gives them for any moment in
    [since, until) (the set changes only when a key falls due or retires), for the keys of one reading
    of the directory (generation)."""

    keys: dict[str, PassKey]
    since: float
    until: float
    generation: int


def _signing_of(keys: list[PassKey], now: float) -> PassKey:
    due = [k for k in keys if k.created <= now + LEEWAY_S]
    return due[-1] if due else keys[0]


class Keyring:
    def __init__(self, directory: Path, *, ttl_s: int) -> None:
        self.directory, self.ttl_s = directory, ttl_s
        self._stamp: float | None = None
        self._keys: list[PassKey] = []  # oldest first
        self._generation = 0  # readings of the directory that changed the keys
        self._looked_at = -math.inf  # time.monotonic() of the last look at the directory for public()
        self._published: _Published | None = None

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
                public = key.public_key()
                _, private_raw = nacl.bindings.crypto_sign_seed_keypair(key.private_bytes_raw())
                keys.append(PassKey(path.stem, created, key, public, private_raw))
            if not keys:
                raise RuntimeError(f"no health-code pass key in {self.directory}")
            self._keys, self._stamp = sorted(keys, key=lambda k: (k.created, k.kid)), stamp
            self._generation += 1
        return self._keys

    def signing(self, now: float) -> PassKey:
        return _signing_of(self._keys_now(), now)

    def published(self, now: float) -> list[PassKey]:
        """Keys a pass may be signed with: the signing one, newer ones, and older ones for one pass lifetime."""
        return self._published_of(self._keys_now(), now)

    def _published_of(self, keys: list[PassKey], now: float) -> list[PassKey]:
        signing = _signing_of(keys, now)
        kept = []
        for i, key in enumerate(keys):
            successor = keys[i + 1] if i + 1 < len(keys) else None
            if key.created >= signing.created or successor is None or now < successor.created + self.ttl_s + LEEWAY_S:
                kept.append(key)
        return kept

    def public(self, kid: str, now: float) -> Ed25519PublicKey | None:
        key = self.key(kid, now)
        return key.public if key is not None else None

    def key(self, kid: str, now: float) -> PassKey | None:
        """The key of ``kid`` if it is published at ``now``: the same answer as ``published(now)``, from
        keys loaded once. The directory is looked at once a second (a key file removed stops verifying
        within a second), and at once for a kid not known yet (a key just added)."""
        looked = False
        if time.monotonic() >= self._looked_at + 1.0:
            self._look()
            looked = True
        key = self._published_at(now).keys.get(kid)
        if key is None and not looked:
            self._look()
            key = self._published_at(now).keys.get(kid)
        return key

    def _look(self) -> None:
        self._keys_now()
        self._looked_at = time.monotonic()

    def _published_at(self, now: float) -> _Published:
        found = self._published
        if found is not None and found.generation == self._generation and found.since <= now < found.until:
            return found
        keys = self._keys
        # published(now) changes only where a key falls due (signing) or where one retires.
        edges = [edge for k in keys for edge in (k.created - LEEWAY_S, k.created + self.ttl_s + LEEWAY_S)]
        found = self._published = _Published(
            keys={k.kid: k for k in self._published_of(keys, now)},
            since=max((e for e in edges if e <= now), default=-math.inf),
            until=min((e for e in edges if e > now), default=math.inf),
            generation=self._generation,
        )
        return found

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
    now = time.time()
    seen = _read_own_pass(keyring, token, issuer, now)
    return _read_any_pass(keyring=keyring, token=token, issuer=issuer) if seen is None else seen


# The header of every pass this module issues, and its claims with their types: what _read_own_pass reads.
_OWN_HEADER = frozenset({"alg", "kid", "typ"})
_OWN_CLAIMS = {"iss": str, "aud": str, "sub": str, "color": str, "name": str, "ver": int, "iat": int, "exp": int, "jti": str}


def _segment(text: str) -> bytes | None:
    """A base64url segment without padding, decoded; None unless it is exactly the canonical encoding of
    its bytes (no padding, no other alphabet, no stray bits: what PyJWT accepts and more is left to it)."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    return raw if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") == text else None


def _read_own_pass(keyring: Keyring, token: str, issuer: str, now: float) -> health_pass.PassClaims | str | None:
    """``_read_any_pass``'s verdict, in one pass over the token, for a token of the shape this module
    issues (header {alg: EdDSA, kid, typ}, the claims of ``health_pass.claims`` with their types);
    None for any other shape, which ``_read_any_pass`` then judges. The checks run in PyJWT's order."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    header_segment, payload_segment, signature_segment = parts
    header_raw, payload_raw, signature = _segment(header_segment), _segment(payload_segment), _segment(signature_segment)
    if header_raw is None or payload_raw is None or signature is None:
        return None
    try:
        header = orjson.loads(header_raw)
    except orjson.JSONDecodeError:
        return None
    if type(header) is not dict or header.keys() != _OWN_HEADER or header["alg"] != ALGORITHM \
            or header["typ"] != health_pass.TYPE or type(kid := header["kid"]) is not str:
        return None
    key = keyring.key(kid, now)
    if key is None:
        return "unknown_key"
    # The signer checks a signature by making it again. Ed25519 signs deterministically (RFC 8032), so the
    # signature this key gives the message is the only one it ever gave it, and no one without the key can
    # make another that holds: the verdict is the public-key check's, for a quarter of its cost (libsodium
    # on an AMD EPYC core: 26 µs to sign, 94 µs to check). Scanners offline check with the JWKS.
    expected = nacl.bindings.crypto_sign(f"{header_segment}.{payload_segment}".encode("ascii"), key.private_raw)
    if not hmac.compare_digest(expected[:nacl.bindings.crypto_sign_BYTES], signature):
        return "bad_signature"
    try:
        claims = orjson.loads(payload_raw)
    except orjson.JSONDecodeError:
        return None
    if type(claims) is not dict or claims.keys() != _OWN_CLAIMS.keys() \
            or any(type(claims[name]) is not kind for name, kind in _OWN_CLAIMS.items()):
        return None
    # PyJWT's order: iat (not in the future), exp, iss, aud; then the subject must be a person's id.
    if claims["iat"] > now + LEEWAY_S:
        return "malformed"
    if claims["exp"] <= now - LEEWAY_S:
        return "expired"
    if claims["iss"] != issuer or claims["aud"] != health_pass.AUDIENCE:
        return "malformed"
    try:
        person_id = uuid.UUID(claims["sub"])
        expires_at = datetime.fromtimestamp(claims["exp"], UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return health_pass.PassClaims(
        person_id=person_id, color=claims["color"], name_masked=claims["name"], version=claims["ver"], expires_at=expires_at,
    )


def _read_any_pass(*, keyring: Keyring, token: str, issuer: str) -> health_pass.PassClaims | str:
    """Any token, read with PyJWT: the header, the algorithm, the kid's key, then ``jwt.decode``."""
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
