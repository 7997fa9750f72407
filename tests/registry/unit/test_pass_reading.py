"""Reading a pass: the one-pass reader of the passes this service issues gives, for every token, the verdict
PyJWT's reading gives (it hands every other shape to it); a forged, truncated, re-signed, unsigned or
expired pass is refused with its reason, never an exception. And the keyring's key of a kid is the one
``published`` lists, at every moment of a rotation."""

from __future__ import annotations

import base64
import hashlib
import os
import time
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import nacl.bindings
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cordon import keys
from services.registry.domain import health_pass
from services.registry.service import passes
from services.registry.service.passes import LEEWAY_S, Keyring

ISSUER = "cordon"
PERSON = uuid.UUID("8d3a4a52-0c55-4c8e-9d0a-35f6e0b7b1a4")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def ring(tmp_path_factory):
    directory = tmp_path_factory.mktemp("pass-keys")
    keys.new_pass_key(directory, datetime.now(UTC) - timedelta(days=1))
    return Keyring(directory, ttl_s=180)


def _issued(ring: Keyring, **changes) -> str:
    token, _ = passes.issue_pass(
        keyring=ring, person_id=PERSON, color="yellow", name="张小明", version=4, issuer=ISSUER,
        now=datetime.now(UTC), ttl=timedelta(seconds=180),
    )
    return token


def _both(ring: Keyring, token: str):
    fast = passes.read_pass(keyring=ring, token=token, issuer=ISSUER)
    reference = passes._read_any_pass(keyring=ring, token=token, issuer=ISSUER)
    assert fast == reference, token
    return fast


def _signed(ring: Keyring, claims: dict, *, header: dict | None = None, key=None) -> str:
    """A compact JWS of any claims (PyJWT's encoder refuses some), signed as the service signs."""
    signing = ring.signing(time.time())
    head = {"alg": "EdDSA", "kid": signing.kid, "typ": health_pass.TYPE} if header is None else {"alg": "EdDSA", **header}
    signed = f"{_b64(orjson.dumps(head))}.{_b64(orjson.dumps(claims))}"
    return f"{signed}.{_b64((key or signing.private).sign(signed.encode()))}"


def _claims(**changes) -> dict:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": health_pass.AUDIENCE, "sub": str(PERSON), "color": "green", "name": "张*",
              "ver": 3, "iat": now, "exp": now + 180, "jti": uuid.uuid4().hex}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not _DROP}


_DROP = object()


def test_an_issued_pass_reads_the_same_both_ways(ring):
    token = _issued(ring)
    seen = _both(ring, token)
    assert passes._read_own_pass(ring, token, ISSUER, time.time()) == seen  # read in one pass, not handed on
    assert seen.person_id == PERSON and seen.color == "yellow" and seen.name_masked == "张*明" and seen.version == 4


def test_bad_passes_are_refused_with_their_reason_both_ways(ring):
    token = _issued(ring)
    header, payload, signature = token.split(".")
    body = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forger = Ed25519PrivateKey.generate()
    kid = ring.signing(time.time()).kid
    cases = {
        "bad_signature": [
            f"{header}.{_b64(orjson.dumps({**body, 'ver': body['ver'] + 5}))}.{signature}",  # altered
            token[:-10],  # truncated signature
            _signed(ring, body, key=forger),  # re-signed under our kid
        ],
        "malformed": [
            token[: len(header) + 5], "not a token", "", "..", "a.b.c", token + ".x", token + "=",
            _signed(ring, _claims(iat=int(time.time()) + 3600)),  # issued in the future
            _signed(ring, _claims(iss="someone-else")), _signed(ring, _claims(aud="another-audience")),
            _signed(ring, _claims(sub="not-a-uuid")), _signed(ring, _claims(color=_DROP)),
            _signed(ring, _claims(ver=None)), _signed(ring, _claims(sub=5)),
        ],
        "algorithm_not_allowed": [
            f"{_b64(orjson.dumps({'alg': 'none', 'typ': 'JWT', 'kid': kid}))}.{payload}.",
            jwt.encode(body, "a-guessed-secret-of-thirty-two-bytes", algorithm="HS256", headers={"kid": kid}),
        ],
        "unknown_key": [_signed(ring, body, header={"kid": "20990101T000000Z-ffffff", "typ": health_pass.TYPE}, key=forger)],
        "expired": [_signed(ring, _claims(exp=int(time.time()) - LEEWAY_S - 60))],
    }
    for reason, tokens in cases.items():
        for bad in tokens:
            assert _both(ring, bad) == reason, (reason, bad)
    for reason in ("bad_signature", "expired", "unknown_key"):  # the one-pass reader answers these itself
        assert passes._read_own_pass(ring, cases[reason][-1], ISSUER, time.time()) == reason
    # Inside the leeway, and shapes the one-pass reader leaves to PyJWT (same verdicts either way).
    assert _both(ring, _signed(ring, _claims(exp=int(time.time()) - LEEWAY_S + 20))).version == 3
    for other in (_claims(ver=True), _claims(exp=float(int(time.time()) + 60)), _claims(extra="x"), _claims(jti=_DROP)):
        _both(ring, _signed(ring, other))
    _both(ring, _signed(ring, _claims(), header={"kid": kid}))  # no typ


def _signed_with_another_nonce(private: Ed25519PrivateKey, message: bytes) -> bytes:
    """An Ed25519 signature of ``message`` that the public key accepts but that the deterministic signer
    (RFC 8032) never makes: R from a random nonce instead of one derived from the key and the message."""
    b = nacl.bindings
    seed = private.private_bytes_raw()
    digest = bytearray(hashlib.sha512(seed).digest()[:32])
    digest[0] &= 248
    digest[31] = (digest[31] & 127) | 64  # the secret scalar, clamped as RFC 8032 clamps it
    secret = b.crypto_core_ed25519_scalar_reduce(bytes(digest) + bytes(32))
    public = private.public_key().public_bytes_raw()
    nonce = b.crypto_core_ed25519_scalar_reduce(os.urandom(64))
    r = b.crypto_scalarmult_ed25519_base_noclamp(nonce)
    k = b.crypto_core_ed25519_scalar_reduce(hashlib.sha512(r + public + message).digest())
    return r + b.crypto_core_ed25519_scalar_add(nonce, b.crypto_core_ed25519_scalar_mul(k, secret))


def test_only_the_signers_own_signature_is_taken_online(ring):
    """The one-pass reader makes the signature again and compares: a signature that holds under the public key
    but that the signer never made (only a holder of the secret key could make one) is refused online, while a
    scanner checking with the JWKS alone would accept it. This is the one verdict in which the readers differ."""
    token = _issued(ring)
    header, payload, _ = token.split(".")
    key = ring.signing(time.time())
    other = _signed_with_another_nonce(key.private, f"{header}.{payload}".encode())
    key.public.verify(other, f"{header}.{payload}".encode())  # it holds under the public key
    stranger = f"{header}.{payload}.{_b64(other)}"
    assert passes._read_any_pass(keyring=ring, token=stranger, issuer=ISSUER).version == 4
    assert passes.read_pass(keyring=ring, token=stranger, issuer=ISSUER) == "bad_signature"


_TOKEN_CHARS = st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(min_value=0, max_value=400), at=st.integers(min_value=0, max_value=400), char=_TOKEN_CHARS)
def test_any_cut_or_changed_character_reads_the_same_both_ways(ring, cut, at, char):
    token = _issued(ring)
    _both(ring, token[:cut])
    i = at % len(token)
    _both(ring, token[:i] + char + token[i + 1:])


_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.text(max_size=8),
                    st.sampled_from([ISSUER, health_pass.AUDIENCE, str(PERSON), "green"]))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.dictionaries(st.sampled_from(["iss", "aud", "sub", "color", "name", "ver", "iat", "exp", "jti", "nbf"]),
                               st.one_of(_VALUES, st.just(_DROP)), max_size=4),
       exp_offset=st.sampled_from([-100_000, -LEEWAY_S - 10, -LEEWAY_S + 10, 60, 100_000]),
       iat_offset=st.sampled_from([-3600, 0, LEEWAY_S - 10, LEEWAY_S + 10]))
def test_any_signed_claims_read_the_same_both_ways(ring, changes, exp_offset, iat_offset):
    now = int(time.time())
    claims = _claims(exp=now + exp_offset, iat=now + iat_offset)
    claims.update({k: v for k, v in changes.items() if v is not _DROP})
    for k in [k for k, v in changes.items() if v is _DROP]:
        claims.pop(k, None)
    _both(ring, _signed(ring, claims))


def test_the_key_of_a_kid_is_the_published_one_through_a_rotation(tmp_path):
    t0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    ttl = 180
    first = keys.new_pass_key(tmp_path, t0)
    second = keys.new_pass_key(tmp_path, t0 + timedelta(hours=1))
    third = keys.new_pass_key(tmp_path, t0 + timedelta(hours=1))  # the same second: a tie broken by the kid
    ring = Keyring(tmp_path, ttl_s=ttl)
    start = t0.timestamp()
    moments = sorted({start + s for s in (-100, 0, 3600 - LEEWAY_S - 1, 3600 - LEEWAY_S, 3600, 3600 + ttl + LEEWAY_S - 1,
                                          3600 + ttl + LEEWAY_S, 3600 + ttl + LEEWAY_S + 1, 7200, 10**6)})
    for now in [*moments, *reversed(moments)]:  # the cache follows the clock both ways
        published = {k.kid: k.public for k in ring.published(now)}
        for kid in (first, second, third, "20990101T000000Z-ffffff"):
            assert ring.public(kid, now) is published.get(kid), (kid, now - start)
