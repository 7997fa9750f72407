"""A phone change revokes the resident tokens bound to the old number.

A resident token carries its phone's blind index and its person. When a grid worker
changes the person's phone, registry.person.updated moves the gateway's phone -> person
mapping, and a token of the old number no longer opens anything: 401 token_revoked.
"""

from __future__ import annotations

import jwt

from cordon import pii
from gateway.models import PersonPhone
from tests.gateway.integration.test_auth import _code_from_stream
from tests.registry.integration.people import GRID, id_number
from tests.serving import eventually

OLD, NEW = "13812349001", "13812349002"


def _vault(gateway) -> pii.Vault:
    s = gateway.app_settings
    return pii.Vault.from_hex(s.pii_index_key, s.pii_encryption_key)


async def _resident_token(gateway, nats_server, phone: str) -> dict:
    assert (await gateway.post("/api/v1/auth/sms-code", json={"phone": phone})).status_code == 202
    code = await eventually(lambda: _code_from_stream(nats_server.url, gateway, phone))
    token = await gateway.post("/api/v1/auth/resident-token", json={"phone": phone, "code": code})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


async def _bound_to(gateway, phone: str):
    index = _vault(gateway).index("phone", phone)
    async with gateway.app.state.sessionmaker() as session:
        row = await session.get(PersonPhone, index)
        return row.person_id if row else None


async def test_a_phone_change_revokes_the_tokens_of_the_old_number(gateway, nats_server):
    created = await gateway.post("/api/v1/persons", json={"id_number": id_number(), "name": "张三", "phone": OLD,
                                                          "region_code": "320413"}, headers=GRID)
    assert created.status_code == 201, created.text
    person_id = created.json()["id"]
    await eventually(lambda: _bound_to(gateway, OLD))  # the gateway has learnt the person's phone
    old_token = await _resident_token(gateway, nats_server, OLD)
    claims = jwt.decode(old_token["Authorization"][7:], options={"verify_signature": False})
    assert claims["person_id"] == person_id
    assert (await gateway.get("/api/v1/me", headers=old_token)).json()["id"] == person_id

    changed = await gateway.patch(f"/api/v1/persons/{person_id}", json={"phone": NEW}, headers=GRID)
    assert changed.status_code == 200, changed.text

    async def revoked():
        response = await gateway.get("/api/v1/me", headers=old_token)
        return response if response.status_code != 200 else None

    response = await eventually(revoked)
    assert response.status_code == 401 and response.json()["code"] == "token_revoked"
    assert (await gateway.get("/api/v1/me/health-code", headers=old_token)).status_code == 401
    # The new number logs in and reads the person.
    new_token = await _resident_token(gateway, nats_server, NEW)
    assert (await gateway.get("/api/v1/me", headers=new_token)).json()["id"] == person_id
