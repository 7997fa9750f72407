"""Tokens for tests, signed with the run's dev key (the gateway signs real ones the same way)."""

from __future__ import annotations

import time
import uuid

import jwt

from cordon.keys import ensure_jwt_keypair
from cordon.settings import Settings

# Modules mint their tokens once, at collection: they must outlive the slowest whole run (a loaded
# 2-core CI machine took over 15 minutes), or late tests fail with 401 token_expired by chance.
RUN_TTL_S = 6 * 3600


def token(role: str, *, regions: tuple[str, ...] | list[str] = (), ttl: int = RUN_TTL_S, home=None, **claims) -> str:
    private, _ = ensure_jwt_keypair(home or Settings().home)
    body = {
        "sub": claims.pop("sub", str(uuid.uuid4())),
        "role": role,
        "regions": list(regions),
        "iss": "cordon",
        "aud": "cordon",
        "iat": int(time.time()),
        "exp": int(time.time()) + ttl,
        **claims,
    }
    return jwt.encode(body, private.read_text(), algorithm="EdDSA")


def bearer(role: str, **kwargs) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(role, **kwargs)}"}
