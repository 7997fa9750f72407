"""Test data for the registry: valid ID numbers and phones, and requests through the public API."""

from __future__ import annotations

import itertools

from cordon import pii
from tests.tokens import bearer

_serial = itertools.count(1)


def id_number(region: str = "320413", birth: str = "19900101") -> str:
    first17 = f"{region}{birth}{next(_serial) % 1000:03d}"
    return first17 + pii.id_check_character(first17)


def phone() -> str:
    return f"138{next(_serial):08d}"


OFFICIAL = bearer("official", regions=["320413"], username="official-jt")
GRID = bearer("grid_worker", regions=["320413"], username="grid-1")
ADMIN = bearer("admin", username="admin")
PARTNER = bearer("partner", sub="partner-telecom")


async def register(client, *, region: str = "320413", headers=GRID, **fields) -> dict:
    body = {"id_number": id_number(region[:6]), "name": "张三", "phone": phone(), "region_code": region, **fields}
    response = await client.post("/api/v1/persons", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return {**response.json(), "_id_number": body["id_number"], "_phone": body["phone"]}

