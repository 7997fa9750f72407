"""Ledgers (台账): the people and daily-report exports stream every selected row as CSV (UTF-8 with BOM,
Chinese headers) or XLSX, masked unless revealed, inside the caller's places, each export audited with
its filter and row count."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from cordon.clock import local_date
from tests.registry.integration.people import ADMIN, GRID, OFFICIAL, register
from tests.registry.integration.test_accountability import ROSTER
from tests.tokens import bearer

ELSEWHERE = bearer("official", regions=["110101"], username="official-bj")


def rows_of_csv(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode()), "no byte-order mark: Excel would misread the Chinese"
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


async def audit_of(registry, entity: str) -> list[dict]:
    answer = await registry.get("/api/v1/audit", params={"entity": entity, "entity_id": "export"}, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


async def test_people_export_streams_every_selected_person_masked_and_audited(registry):
    people = [await register(registry, name=f"居民{i:02d}") for i in range(7)]
    tricky = await register(registry, name="=HYPERLINK(\"http://x\")")
    await register(registry, region="110101", headers=ELSEWHERE, name="北京居民")

    answer = await registry.get("/api/v1/persons/export", params={"region_code": "320413"}, headers=OFFICIAL)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert "filename*=UTF-8''" in answer.headers["content-disposition"]
    rows = rows_of_csv(answer.content)
    assert rows[0][:3] == ["姓名", "身份证号", "手机号"]
    body = rows[1:]
    assert sorted(r[0] for r in body) == sorted([p["name"] for p in people] + ["'=HYPERLINK(\"http://x\")"])
    by_name = {r[0]: r for r in body}
    for p in people:
        row = by_name[p["name"]]
        assert row[1] == p["id_number_masked"] and row[2] == p["phone_masked"]
        assert p["_id_number"] not in answer.text and p["_phone"] not in answer.text
        assert row[6] == "绿码"
    assert "北京居民" not in answer.text  # another county's person is outside the filter's places
    assert tricky["name"].startswith("=")

    entries = await audit_of(registry, "person")
    assert [(e["action"], e["detail"]) for e in entries] == [
        ("export", {"filter": {"region_code": "320413"}, "format": "csv", "reveal": False, "rows": 8})
    ]


async def test_people_export_reveals_for_an_official_and_reads_as_xlsx(registry):
    people = [await register(registry) for _ in range(3)]
    answer = await registry.get(
        "/api/v1/persons/export", params={"format": "xlsx", "reveal": "true", "health_code": "green"},
        headers={**OFFICIAL, "Accept-Language": "en"},
    )
    assert answer.status_code == 200, answer.text
    sheet = load_workbook(io.BytesIO(answer.content), read_only=True).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0][:3] == ["Name", "ID number", "Phone"]
    assert sorted((r[1], r[2]) for r in rows[1:]) == sorted((p["_id_number"], p["_phone"]) for p in people)
    assert (await audit_of(registry, "person"))[0]["detail"] == {
        "filter": {"health_code": "green"}, "format": "xlsx", "reveal": True, "rows": 3}


async def test_people_export_is_for_officials_in_their_places(registry):
    assert (await registry.get("/api/v1/persons/export", headers=GRID)).status_code == 403
    outside = await registry.get("/api/v1/persons/export", params={"region_code": "320413"}, headers=ELSEWHERE)
    assert outside.status_code in (403, 404) and outside.headers["content-type"].startswith("application/problem+json")
    bad = await registry.get("/api/v1/persons/export", params={"format": "pdf"}, headers=OFFICIAL)
    assert bad.status_code == 422
    assert await audit_of(registry, "person") == []


async def test_daily_report_export_lists_every_unit_with_its_report_or_missing(registry):
    today = local_date(registry.app.state.clock()).isoformat()
    for code in ("320413001", "320413002"):
        assert (await registry.put(f"/api/v1/regions/{code}", json={"name": f"第{code[-1]}街道"}, headers=OFFICIAL)).status_code in (200, 201)
        assert (await registry.put(f"/api/v1/regions/{code}/roster", json=ROSTER, headers=OFFICIAL)).status_code == 200
    sent = await registry.post("/api/v1/daily-reports", json={
        "region_code": "320413001", "date": today, "zero": False,
        "counts": {"returnees_screened": 3, "under_control": 2, "fever": 0, "tests_taken": 5}, "note": "无异常"},
        headers=OFFICIAL)
    assert sent.status_code == 201, sent.text
    answer = await registry.get("/api/v1/daily-reports/export", params={"date": today}, headers=OFFICIAL)
    assert answer.status_code == 200, answer.text
    rows = rows_of_csv(answer.content)
    assert rows[0][:4] == ["单位代码", "单位", "日期", "报告情况"]
    assert [r[:4] for r in rows[1:]] == [["320413001", "第1街道", today, "已报告"], ["320413002", "第2街道", today, "未报告"]]
    assert rows[1][6:10] == ["3", "2", "0", "5"] and rows[1][10] == "无异常"
    assert (await audit_of(registry, "daily_report"))[0]["detail"] == {"filter": {"date": today}, "format": "csv", "rows": 2}


async def test_lead_export_lists_the_leads_of_the_callers_places(registry):
    list_ = "姓名,身份证号,手机号,所在地,原因\n李四,,13700001111,320413,协查：与确诊病例同乘\n王五,,13700002222,110101,协查\n"
    imported = await registry.post("/api/v1/leads/import", content=list_.encode(), headers={**ADMIN, "content-type": "text/csv"})
    assert imported.status_code == 200 and imported.json()["accepted"] == 2, imported.text
    answer = await registry.get("/api/v1/leads/export", params={"status": "open"}, headers=OFFICIAL)
    assert answer.status_code == 200, answer.text
    rows = rows_of_csv(answer.content)
    assert rows[0][:3] == ["姓名", "身份证号", "手机号"]
    assert [(r[0], r[2], r[3], r[5], r[7], r[8]) for r in rows[1:]] == [("李四", "137****1111", "320413", "协查函", "待核查", "否")]
    assert "13700001111" not in answer.text and "王五" not in answer.text
    assert (await audit_of(registry, "lead"))[0]["detail"] == {"filter": {"status": "open"}, "format": "csv", "reveal": False, "rows": 1}
