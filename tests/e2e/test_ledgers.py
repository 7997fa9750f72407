"""Ledgers through the gateway: a township official exports the people of their township as XLSX and
CSV, streamed through the proxy, and sees only their own places' people."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from tests.e2e.stack import ADMIN_PASSWORD, running_stack
from tests.e2e.test_story import id_number, token

TOWNSHIP, VILLAGE, OTHER_VILLAGE = "320413100", "320413100201", "320413101201"


async def test_a_township_exports_its_people_through_the_gateway(databases, nats_server, home):
    async with running_stack(databases, nats_server.url, home) as cordon:
        gw = cordon.gateway
        admin = await token(gw, "admin", ADMIN_PASSWORD)
        places = f"code,name\n{TOWNSHIP},金城镇\n{VILLAGE},东门村\n320413101,薛埠镇\n{OTHER_VILLAGE},上阮村\n"
        assert (await gw.post("/api/v1/regions/import", content=places.encode(), headers={**admin, "content-type": "text/csv"})).status_code == 200
        user = {"username": "zhen-jc", "password": "township-password", "role": "official", "regions": [TOWNSHIP]}
        assert (await gw.post("/api/v1/auth/users", json=user, headers=admin)).status_code == 201
        township = await token(gw, "zhen-jc", "township-password")
        for serial in range(120):
            region = VILLAGE if serial % 3 else OTHER_VILLAGE
            body = {"id_number": id_number(serial), "name": f"居民{serial:03d}", "region_code": region}
            assert (await gw.post("/api/v1/persons", json=body, headers=admin)).status_code == 201

        xlsx = await gw.get("/api/v1/persons/export", params={"format": "xlsx"}, headers=township)
        assert xlsx.status_code == 200, xlsx.text
        rows = list(load_workbook(io.BytesIO(xlsx.content), read_only=True).active.iter_rows(values_only=True))
        assert rows[0][:5] == ("姓名", "身份证号", "手机号", "所在地代码", "所在地")
        assert len(rows) - 1 == 80 and {r[4] for r in rows[1:]} == {"东门村"}
        assert all("*" in r[1] for r in rows[1:])  # masked

        text = await gw.get("/api/v1/persons/export", params={"region_code": VILLAGE}, headers=township)
        assert text.status_code == 200
        lines = list(csv.reader(io.StringIO(text.content.decode("utf-8-sig"))))
        assert len(lines) - 1 == 80
        outside = await gw.get("/api/v1/persons/export", params={"region_code": OTHER_VILLAGE}, headers=township)
        assert outside.status_code in (403, 404)
