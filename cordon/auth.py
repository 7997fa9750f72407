"""JWT verification -> Principal, and the role and region dependencies every service uses.

The gateway issues tokens (Ed25519, EdDSA); each service verifies them itself
with the public key, so a request that bypasses the gateway gains nothing.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cordon import keys, regions
from cordon.errors import Forbidden, NotFound, Unauthenticated

Role = Literal["admin", "official", "grid_worker", "lab", "resident", "partner"]
ROLES: tuple[str, ...] = ("admin", "official", "grid_worker", "lab", "resident", "partner")
# The role sets, named once for every service (each also has a dependency alias below).
STAFF: tuple[str, ...] = ("admin", "official", "grid_worker", "lab")  # every staff account
FIELD_STAFF: tuple[str, ...] = ("admin", "official", "grid_worker")  # staff who look after people in their regions
OFFICIALS: tuple[str, ...] = ("admin", "official")  # who decide: set policy and areas, approve, reveal, release
ALGORITHM = "EdDSA"


@dataclass(frozen=True)
class Principal:
    subject: str  # user id, partner id, or the resident's phone blind index
    role: str
    regions: tuple[str, ...] = ()
    username: str | None = None
    person_id: uuid.UUID | None = None  # a resident's own person, once registered
    phone_index: str | None = None  # a resident's blind-indexed phone
    scopes: tuple[str, ...] = ()  # a partner key's: "travel_records", "gate"
    expires: float = field(default=0.0, compare=False)  # the token's exp, Unix time

    def sees_region(self, region_code: str) -> bool:
        """Admins see everything; officials and grid workers their regions and what lies inside."""
        if self.role == "admin":
            return True
        return any(regions.contains(own, region_code) for own in self.regions)


class UnknownKeyId(Exception):
    """The token names a key (kid) the public key text does not hold: perhaps one rotated in since it was read."""


def decode_token(token: str, *, public_key: str, issuer: str, audience: str) -> Principal:
    """Verify ``token`` with the key its header names (``kid``) among those in ``public_key`` (one or more
    PEM blocks); a token without a kid (signed before keys had ids) is tried against each."""
    keyring = keys.public_keys(public_key)
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError:
        raise Unauthenticated("The token is not valid.", code="token_invalid") from None
    if kid is not None and kid not in keyring:
        raise UnknownKeyId(kid)
    candidates = [keyring[kid]] if kid is not None else list(keyring.values())
    claims = None
    for key in candidates:
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                issuer=issuer,
                audience=audience,
                options={"require": ["exp", "sub", "role"]},
            )
            break
        except jwt.InvalidSignatureError:
            continue
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("The token has expired.", code="token_expired") from None
        except jwt.PyJWTError:
            raise Unauthenticated("The token is not valid.", code="token_invalid") from None
    if claims is None:
        raise Unauthenticated("The token is not valid.", code="token_invalid")
    if claims["role"] not in ROLES:
        raise Unauthenticated("The token names an unknown role.", code="token_invalid")
    person = claims.get("person_id")
    return Principal(
        subject=claims["sub"],
        role=claims["role"],
        regions=tuple(claims.get("regions", ())),
        username=claims.get("username"),
        person_id=uuid.UUID(person) if person else None,
        phone_index=claims.get("phone_index"),
        scopes=tuple(claims.get("scopes", ())),
        expires=float(claims["exp"]),
    )


class VerifiedTokens:
    """Tokens already verified by this app, kept until their exp: a lookup instead of an Ed25519 verify.

    The verify costs about 150 µs of CPU a request (bench/gateway.py). A JWT cannot be revoked
    before its exp anyway, so a cached answer grants nothing a fresh verify would refuse;
    refusals are not cached. One per app (per key), bounded: emptied when full.

    ``key_file``: where the public keys came from; a token naming a kid they lack makes it read the
    file again (at most once a second), so a key rotated in (`cordon rotate-keys`) is accepted at once.
    """

    def __init__(self, *, public_key: str, issuer: str, audience: str, max_size: int = 100_000,
                 key_file: Path | None = None) -> None:
        self.public_key, self.issuer, self.audience, self.max_size = public_key, issuer, audience, max_size
        self.key_file = key_file
        self._reread_at = 0.0
        self._principals: dict[str, Principal] = {}

    def decode(self, token: str) -> Principal:
        principal = self._principals.get(token)
        if principal is not None and principal.expires > time.time():
            return principal
        try:
            principal = decode_token(token, public_key=self.public_key, issuer=self.issuer, audience=self.audience)
        except UnknownKeyId:
            if self.key_file is None or time.monotonic() < self._reread_at:
                raise Unauthenticated("The token is not valid.", code="token_invalid") from None
            self._reread_at = time.monotonic() + 1.0
            try:
                self.public_key = self.key_file.read_text()
                principal = decode_token(token, public_key=self.public_key, issuer=self.issuer, audience=self.audience)
            except (UnknownKeyId, OSError):
                raise Unauthenticated("The token is not valid.", code="token_invalid") from None
        if len(self._principals) >= self.max_size:
            self._principals.clear()
        self._principals[token] = principal
        return principal


_bearer = HTTPBearer(auto_error=False, description="A token from POST /api/v1/auth/token or /auth/resident-token")


async def _current_principal(  # async: a sync dependency would cost a thread hop per request
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("A bearer token is required.", headers={"WWW-Authenticate": "Bearer"})
    return request.app.state.tokens.decode(credentials.credentials)


CurrentPrincipal = Annotated[Principal, Depends(_current_principal)]


def require(*roles: str) -> Callable[[Principal], Principal]:
    """A dependency admitting only ``roles`` (403 for any other signed-in caller)."""

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            raise Forbidden(f"This action is for: {', '.join(roles)}.")
        return principal

    dependency.roles = roles  # read by the OpenAPI frame (cordon.apidoc): 401/403 answers, tags
    return dependency


# Who may call a route, by role set.
SignedIn = Annotated[Principal, Depends(require(*ROLES))]
Staff = Annotated[Principal, Depends(require(*STAFF))]
FieldStaff = Annotated[Principal, Depends(require(*FIELD_STAFF))]
Official = Annotated[Principal, Depends(require(*OFFICIALS))]
Admin = Annotated[Principal, Depends(require("admin"))]
GridWorker = Annotated[Principal, Depends(require("grid_worker"))]
Lab = Annotated[Principal, Depends(require("lab"))]
Resident = Annotated[Principal, Depends(require("resident"))]
Partner = Annotated[Principal, Depends(require("partner"))]


def ensure_region_visible(principal: Principal, region_code: str, *, what: str = "resource") -> None:
    """404, not 403: a caller must not learn what exists in a region it cannot see."""
    if not principal.sees_region(region_code):
        raise NotFound(f"No such {what}.")
