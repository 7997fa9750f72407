"""`cordon rotate-keys` and `export-keys`: the gateway's JWT pair rotated with a kid, old tokens valid until they expire."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import jwt
import pytest

from cordon import keys
from cordon.auth import ALGORITHM, VerifiedTokens
from cordon.errors import Unauthenticated
from gateway.auth import tokens


def cordon(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cordon", *args], capture_output=True, text=True, env=os.environ, timeout=120)


def issue(private) -> str:
    return tokens.issue(key_file=private, issuer="cordon", audience="cordon", subject="u1", role="official",
                        regions=["110101"], ttl_s=600)


def verifier(public) -> VerifiedTokens:
    return VerifiedTokens(public_key=public.read_text(), issuer="cordon", audience="cordon", key_file=public)


def test_rotation_keeps_old_tokens_valid_and_new_ones_verify_at_once(tmp_path):
    private, public = keys.ensure_jwt_keypair(tmp_path)
    files = ("--private", str(private), "--public", str(public))
    old_token = issue(private)
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    running = verifier(public)  # a service started before the rotation
    assert running.decode(old_token).subject == "u1"

    done = cordon("rotate-keys", *files)
    assert done.returncode == 0, done.stderr
    new_kid = done.stdout.split("已生成新的签名密钥 ")[1].split("（")[0]
    assert new_kid != old_kid

    new_token = issue(private)
    assert jwt.get_unverified_header(new_token)["kid"] == new_kid
    assert running.decode(new_token).subject == "u1"  # unknown kid: the public file is read again
    assert verifier(public).decode(old_token).subject == "u1"  # old tokens until they expire

    exported = json.loads(cordon("export-keys", *files).stdout)
    assert [k["kid"] for k in exported["keys"]] == [old_kid, new_kid]
    assert {(k["kty"], k["crv"], k["alg"]) for k in exported["keys"]} == {("OKP", "Ed25519", "EdDSA")}
    assert cordon("export-keys", "--pem", *files).stdout.count("BEGIN PUBLIC KEY") == 2

    refused = cordon("rotate-keys", "--retire", new_kid, *files)
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[0] == f"{new_kid} 是当前签名密钥，不能停用。"
    retired = cordon("rotate-keys", "--retire", old_kid, *files)
    assert retired.returncode == 0
    assert retired.stdout.startswith(f"已停用公钥 {old_kid}")
    with pytest.raises(Unauthenticated) as caught:
        verifier(public).decode(old_token)
    assert caught.value.code == "token_invalid"
    assert verifier(public).decode(new_token).subject == "u1"


def test_a_token_without_kid_is_tried_against_every_key(tmp_path):
    private, public = keys.ensure_jwt_keypair(tmp_path)
    legacy = jwt.encode({"sub": "u2", "role": "lab", "iss": "cordon", "aud": "cordon", "exp": int(time.time()) + 60},
                        private.read_text(), algorithm=ALGORITHM)
    keys.rotate_jwt_keys(private, public)
    assert verifier(public).decode(legacy).subject == "u2"
    forged = jwt.encode({"sub": "u2", "role": "admin", "iss": "cordon", "aud": "cordon", "exp": int(time.time()) + 60},
                        keys.Ed25519PrivateKey.generate(), algorithm=ALGORITHM)
    with pytest.raises(Unauthenticated):
        verifier(public).decode(forged)
