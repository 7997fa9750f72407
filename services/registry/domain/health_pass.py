"""The health-code pass: what a gate reads from a QR code, and how a verification is judged.

A pass is a compact JWS (EdDSA) whose claims carry the colour, a masked name, the person's
opaque id, the person's colour version and a short expiry. A pass is good while its signature
holds under a published key, it has not expired, and the colour it shows is still the person's
(its version is the current one): a colour change supersedes every older pass at once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

AUDIENCE = "cordon-health-pass"
TYPE = "health-pass+jwt"

# Why a pass is refused; stable words a scanner can switch on.
REASONS = (
    "malformed",  # not a compact JWS, or its claims are not a pass's
    "algorithm_not_allowed",  # anything but EdDSA (alg "none" included)
    "unknown_key",  # a kid no published key carries
    "bad_signature",  # altered, or re-signed with another key
    "expired",
    "superseded",  # the person's colour changed after it was issued
    "unknown_person",
)


@dataclass(frozen=True)
class PassClaims:
    person_id: uuid.UUID
    color: str
    name_masked: str
    version: int
    expires_at: datetime


def claims(*, person_id: uuid.UUID, color: str, name_masked: str, version: int, issuer: str, now: datetime,
           ttl: timedelta, pass_id: str) -> dict:
    """The JWT claims of a pass issued ``now``."""
    return {
        "iss": issuer,
        "aud": AUDIENCE,
        "sub": str(person_id),
        "color": color,
        "name": name_masked,
        "ver": version,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        "jti": pass_id,
    }


def judge(current_version: int | None, seen: PassClaims) -> str | None:
    """None if a signed, unexpired pass still stands; else the reason it does not."""
    if current_version is None:
        return "unknown_person"
    if seen.version < current_version:
        return "superseded"
    return None
