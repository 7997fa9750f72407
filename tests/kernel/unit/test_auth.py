import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cordon.auth import decode_token
from cordon.errors import Unauthenticated


def keypair():
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return key, public.decode()


def token(key, **claims):
    base = {"sub": "u1", "role": "official", "regions": ["320413"], "iss": "cordon", "aud": "cordon", "exp": time.time() + 60}
    return jwt.encode({**base, **claims}, key, algorithm="EdDSA")


def decode(tok, public):
    return decode_token(tok, public_key=public, issuer="cordon", audience="cordon")


def test_valid_token_gives_the_principal():
    key, public = keypair()
    person = uuid.uuid4()
    principal = decode(token(key, role="resident", person_id=str(person), regions=[]), public)
    assert principal.role == "resident" and principal.person_id == person


@pytest.mark.parametrize(
    "claims,code",
    [
        ({"exp": time.time() - 10}, "token_expired"),
        ({"aud": "other"}, "token_invalid"),
        ({"iss": "other"}, "token_invalid"),
        ({"role": "superuser"}, "token_invalid"),
    ],
)
def test_bad_tokens_are_401_with_a_code(claims, code):
    key, public = keypair()
    with pytest.raises(Unauthenticated) as caught:
        decode(token(key, **claims), public)
    assert caught.value.code == code and caught.value.status == 401


def test_token_signed_by_another_key_is_refused():
    key, _ = keypair()
    _, other_public = keypair()
    with pytest.raises(Unauthenticated):
        decode(token(key), other_public)


def test_symmetric_token_is_refused():
    _, public = keypair()
    forged = jwt.encode({"sub": "x", "role": "admin", "exp": time.time() + 60}, "s" * 32, algorithm="HS256")
    with pytest.raises(Unauthenticated):
        decode(forged, public)


def test_verified_tokens_are_cached_until_they_expire(monkeypatch):
    from cordon import auth

    key, public = keypair()
    cache = auth.VerifiedTokens(public_key=public, issuer="cordon", audience="cordon")
    tok = token(key, exp=time.time() + 60)
    calls = []
    real = auth.decode_token
    monkeypatch.setattr(auth, "decode_token", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert cache.decode(tok) == cache.decode(tok)
    assert len(calls) == 1  # verified once
    later = time.time() + 120
    monkeypatch.setattr(auth.time, "time", lambda: later)
    cache.decode(tok)  # past its exp by the cache's clock: verified again (PyJWT then judges the exp)
    assert len(calls) == 2
    with pytest.raises(Unauthenticated):
        cache.decode("garbage")
