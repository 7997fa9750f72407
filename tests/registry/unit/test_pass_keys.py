"""Pass keys: the newest due key signs, retired keys stay published for one pass lifetime, then drop out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cordon import keys, pii
from services.registry.domain import health_pass
from services.registry.service.passes import LEEWAY_S, Keyring

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
TTL = 180


def test_rotation_keeps_the_old_key_until_its_passes_expired(tmp_path):
    first = keys.new_pass_key(tmp_path, T0)
    ring = Keyring(tmp_path, ttl_s=TTL)
    assert ring.signing(T0.timestamp()).kid == first
    second = keys.new_pass_key(tmp_path, T0 + timedelta(hours=1))
    before = (T0 + timedelta(minutes=59)).timestamp()
    assert ring.signing(before).kid == first  # the new key's time has not come
    assert {k.kid for k in ring.published(before)} == {first, second}  # but scanners may learn it already
    rotated = (T0 + timedelta(hours=1)).timestamp()
    assert ring.signing(rotated).kid == second
    assert {k["kid"] for k in ring.jwks(rotated + TTL)["keys"]} == {first, second}
    assert ring.public(first, rotated + TTL) is not None
    later = rotated + TTL + LEEWAY_S + 1
    assert [k["kid"] for k in ring.jwks(later)["keys"]] == [second]
    assert ring.public(first, later) is None
    jwk = ring.jwks(later)["keys"][0]
    assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519" and jwk["alg"] == "EdDSA" and "d" not in jwk


def test_an_empty_directory_is_a_start_up_error(tmp_path):
    with pytest.raises(RuntimeError):
        Keyring(tmp_path, ttl_s=TTL).signing(T0.timestamp())


@pytest.mark.parametrize("name, masked", [("张", "*"), ("张三", "张*"), ("张小明", "张*明"), ("欧阳娜娜", "欧**娜")])
def test_names_are_masked(name, masked):
    assert pii.mask_name(name) == masked


def test_a_colour_change_supersedes_older_passes():
    seen = health_pass.PassClaims(person_id=None, color="green", name_masked="张*", version=2, expires_at=T0)
    assert health_pass.judge(2, seen) is None
    assert health_pass.judge(3, seen) == "superseded"
    assert health_pass.judge(None, seen) == "unknown_person"


def test_the_cli_adds_a_key_that_signs_next(tmp_path):
    from cordon import cli

    first = keys.new_pass_key(tmp_path, T0)
    assert cli.main(["pass-key", str(tmp_path)]) == 0
    ring = Keyring(tmp_path, ttl_s=TTL)
    newest = ring.signing(datetime.now(UTC).timestamp()).kid
    assert newest != first and {first, newest} == {p.stem for p in tmp_path.glob("*.pem")}
