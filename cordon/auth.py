"""JWT verification -> Principal, and the role and region dependencies every service uses.

The gateway issues tokens (Ed25519, EdDSA); each service verifies them itself
with the public key, so a request that bypasses the gateway gains nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Callable, Literal

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cordon import regions
from cordon.errors import Forbidden, NotFound, Unauthenticated

Role = Literal["admin", "official", "grid_worker", "lab", "resident", "partner"]
ROLES: tuple[str, ...] = ("admin", "official", "grid_worker", "lab", "resident", "partner")
STAFF: tuple[str, ...] = ("admin", "official", "grid_worker", "lab")
ALGORITHM = "EdDSA"


@dataclass(frozen=True)
class Principal:
    subject: str  # user id, partner id, or the resident's phone blind index
    role: str
    regions: tuple[str, ...] = ()
    username: str | None = None
    person_id: uuid.UUID | None = None  # a resident's own person, once registered
    phone_index: str | None = None  # a resident's blind-indexed phone

    def sees_region(self, region_code: str) -> bool:
        """Admins see everything; officials and grid workers their regions and what lies inside."""
        if self.role == "admin":
            return True
        return any(regions.contains(own, region_code) for own in self.regions)


def decode_token(token: str, *, public_key: str, issuer: str, audience: str) -> Principal:
    try:
        claims = jwt.decode(
            token,
            public_key,
            algorithms=[ALGORITHM],
            issuer=issuer,
            audience=audience,
            options={"require": ["exp", "sub", "role"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("The token has expired.", code="token_expired") from None
    except jwt.PyJWTError:
        raise Unauthenticated("The token is not valid.", code="token_invalid") from None
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
    )


_bearer = HTTPBearer(auto_error=False, description="A token from POST /api/v1/auth/token or /auth/resident-token")


def _current_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("A bearer token is required.", headers={"WWW-Authenticate": "Bearer"})
    settings = request.app.state.settings
    return decode_token(
        credentials.credentials,
        public_key=settings.jwt_public_key,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )


CurrentPrincipal = Annotated[Principal, Depends(_current_principal)]


def require(*roles: str) -> Callable[[Principal], Principal]:
    """A dependency admitting only ``roles`` (403 for any other signed-in caller)."""

    def dependency(principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            raise Forbidden(f"This action is for: {', '.join(roles)}.")
        return principal

    return dependency


def ensure_region_visible(principal: Principal, region_code: str, *, what: str = "resource") -> None:
    """404, not 403: a caller must not learn what exists in a region it cannot see."""
    if not principal.sees_region(region_code):
        raise NotFound(f"No such {what}.")
