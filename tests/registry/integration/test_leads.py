"""Big-data leads through the registry's API, on a real database and JetStream: opened from unmatched records
(one per person, where the person is now), closed by registration or an outcome, assigned, imported from
lists in CSV (UTF-8 and GBK), XLSX and NDJSON, told overdue once."""

from __future__ import annotations

import io
from datetime import timedelta

import orjson
from openpyxl import Workbook

from cordon import pii
from cordon.clock import local_date, utcnow
from cordon.contracts import auth
from services.registry import clockwork
from tests.registry.integration.people import ADMIN, GRID, OFFICIAL, PARTNER, id_number, phone, register
from tests.registry.integration.test_reactions import publish
from tests.serving import eventually, settled, stream_events
from tests.tokens import bearer

NOW = utcnow()
TODAY = local_date(NOW)
VILLAGE, NEXT_VILLAGE = "320413100201", "320413100202"
HERE = bearer("grid_worker", regions=[VILLAGE], username="cun-1")
NEXT = bearer("grid_worker", regions=[NEXT_VILLAGE], username="cun-2")
NDJSON = {"content-type": "application/x-ndjson"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def record(rid: str, days_ago: int = 2, **fields) -> dict:
    last = TODAY - timedelta(days=days_ago)
    return {"record_id": rid, "region_code": "420106", "first_seen": (last - timedelta(days=1)).isoformat(),
            "last_seen": last.isoformat(), **fields}


def ndjson(*lines: dict) -> bytes:
    return b"".join(orjson.dumps(line) + b"\n" for line in lines)


async def push(registry, *lines: dict, headers=PARTNER) -> dict:
    response = await registry.post("/api/v1/travel-records/batch", content=ndjson(*lines), headers={**headers, **NDJSON})
    assert response.status_code == 200, response.text
    return response.json()


async def leads_seen(registry, headers, **params) -> list[dict]:
    response = await registry.get("/api/v1/leads", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def places(registry) -> None:
    for code, name in (("320413100", "金城镇"), (VILLAGE, "东门村"), (NEXT_VILLAGE, "西门村")):
        assert (await registry.put(f"/api/v1/regions/{code}", json={"name": name}, headers=ADMIN)).status_code == 200


async def events_of(registry, url: str, subject: str) -> list[dict]:
    await settled(url, registry)
    return [data for s, data in await stream_events(url) if s == subject]


async def test_unmatched_records_open_one_lead_per_person_where_they_are_now(registry, nats_server):
    await places(registry)
    await registry.put("/api/v1/risk-areas/420106", json={"level": "high"}, headers=OFFICIAL)
    known = await register(registry, region=VILLAGE)
    stranger, listed_id, calm = phone(), id_number(), phone()
    regional = bearer("partner", sub="partner-bigdata", regions=[NEXT_VILLAGE])
    first = await push(
        registry,
        record("k-1", phone=known["_phone"], current_region_code=VILLAGE),  # matches a person: evaluated, no lead
        record("s-1", phone=stranger, current_region_code=VILLAGE),
        record("s-2", days_ago=4, phone=stranger, current_region_code=VILLAGE),  # same phone: the same lead
        record("c-1", phone=calm, region_code="110105", current_region_code=VILLAGE),  # no rule: no lead
        record("old", days_ago=40, phone=phone(), current_region_code=VILLAGE) | {"last_seen": (TODAY - timedelta(days=13)).isoformat(),
                                                                                 "first_seen": (TODAY - timedelta(days=14)).isoformat()},
    )
    assert first["accepted"] == 5
    await push(registry, record("s-3", days_ago=3, phone=stranger))  # a later push adds its reason to the open lead
    await push(registry, record("i-1", id_number=listed_id), headers=regional)  # no current place: the partner's
    await push(registry, record("n-1", phone=phone()))  # no place at all: admins only

    mine = await leads_seen(registry, HERE)
    assert len(mine) == 2  # the stranger's, and the 13-days-ago record whose home monitoring still runs
    lead = next(x for x in mine if x["phone_masked"] == pii.mask_phone(stranger))
    assert lead["region_code"] == VILLAGE and lead["status"] == "open" and lead["source"] == "travel_record"
    assert [r["rule"] for r in lead["reasons"]] == ["high_risk_travel"] * 3 and lead["overdue"] is False
    assert stranger not in str(mine)
    theirs = await leads_seen(registry, NEXT)
    assert [(x["region_code"], x["id_number_masked"]) for x in theirs] == [(NEXT_VILLAGE, pii.mask_id_number(listed_id))]
    assert (await registry.get(f"/api/v1/leads/{lead['id']}", headers=NEXT)).status_code == 404
    assert len(await leads_seen(registry, GRID)) == 3
    everything = await leads_seen(registry, ADMIN)
    assert len(everything) == 4 and sum(x["region_code"] is None for x in everything) == 1
    assert len(await leads_seen(registry, GRID, region_code=VILLAGE)) == 2
    assert (await registry.get("/api/v1/leads", params={"region_code": "110105"}, headers=GRID)).status_code == 403
    assert (await registry.get("/api/v1/leads", params={"region_code": "3204"}, headers=GRID)).status_code == 422
    revealed = await registry.get(f"/api/v1/leads/{lead['id']}", params={"reveal": "true"}, headers=OFFICIAL)
    assert revealed.json()["phone"] == stranger
    assert (await registry.get(f"/api/v1/leads/{lead['id']}", params={"reveal": "true"}, headers=HERE)).status_code == 403

    opened = await events_of(registry, nats_server.url, "registry.lead.opened")
    assert len({e["lead_id"] for e in opened}) == 4 and len(opened) == 5  # the stranger's twice: opened, then a reason added
    assert stranger not in str(opened) and listed_id not in str(opened)


async def test_registering_the_person_closes_the_lead_and_starts_the_measures(registry, nats_server):
    await places(registry)
    await registry.put("/api/v1/risk-areas/420106", json={"level": "high"}, headers=OFFICIAL)
    stranger = phone()
    await push(registry, record("r-1", phone=stranger, current_region_code=VILLAGE))
    (lead,) = await leads_seen(registry, HERE)
    person = await register(registry, region=VILLAGE, phone=stranger, headers=HERE)
    closed = (await registry.get(f"/api/v1/leads/{lead['id']}", headers=HERE)).json()
    assert (closed["status"], closed["outcome"], closed["person_id"]) == ("closed", "registered", person["id"])
    measures = (await registry.get(f"/api/v1/persons/{person['id']}/measures", headers=HERE)).json()["items"]
    assert {(m["rule"], m["kind"]) for m in measures} == {("high_risk_travel", "centralized_quarantine"),
                                                          ("high_risk_travel", "home_health_monitoring")}
    assert (await registry.get(f"/api/v1/persons/{person['id']}/health-code", headers=HERE)).json()["color"] == "red"
    assert await leads_seen(registry, HERE, status="open") == []
    again = await registry.post(f"/api/v1/leads/{lead['id']}/outcome", json={"outcome": "not_found"}, headers=HERE)
    assert again.status_code == 409 and again.json()["code"] == "lead_closed"
    # A person registered without a phone gives it later: their lead closes the same way.
    late_phone = phone()
    await push(registry, record("r-3", phone=late_phone, current_region_code=VILLAGE))
    (third,) = await leads_seen(registry, HERE, status="open")
    silent = await register(registry, region=VILLAGE, headers=HERE, phone=None)
    patched = await registry.patch(f"/api/v1/persons/{silent['id']}", json={"phone": late_phone}, headers=HERE)
    assert patched.status_code == 200, patched.text
    reread = (await registry.get(f"/api/v1/leads/{third['id']}", headers=HERE)).json()
    assert (reread["status"], reread["outcome"], reread["person_id"]) == ("closed", "registered", silent["id"])
    assert {m["rule"] for m in (await registry.get(f"/api/v1/persons/{silent['id']}/measures", headers=HERE)).json()["items"]} == {
        "high_risk_travel"}

    # Found under another phone: the worker names the person, whose records become theirs, measures at once.
    old_phone = phone()
    await push(registry, record("r-2", phone=old_phone, current_region_code=VILLAGE))
    (second,) = await leads_seen(registry, HERE, status="open")
    other = await register(registry, region=VILLAGE, headers=HERE)
    assert (await registry.get(f"/api/v1/persons/{other['id']}/measures", headers=HERE)).json()["items"] == []
    named = await registry.post(f"/api/v1/leads/{second['id']}/outcome", json={"outcome": "registered", "person_id": other["id"]},
                                headers=HERE)
    assert named.status_code == 200 and named.json()["person_id"] == other["id"], named.text
    measures = (await registry.get(f"/api/v1/persons/{other['id']}/measures", headers=HERE)).json()["items"]
    assert {m["rule"] for m in measures} == {"high_risk_travel"}
    closed_events = await events_of(registry, nats_server.url, "registry.lead.closed")
    assert [(e["lead_id"], e["outcome"], e["person_id"]) for e in closed_events] == [
        (lead["id"], "registered", person["id"]), (third["id"], "registered", silent["id"]),
        (second["id"], "registered", other["id"])]


async def test_an_outcome_closes_a_lead_and_assignment_stays_in_its_place(registry, nats_server):
    await places(registry)
    await registry.put("/api/v1/risk-areas/420106", json={"level": "medium"}, headers=OFFICIAL)
    await push(registry, record("o-1", phone=phone(), current_region_code=VILLAGE),
               record("o-2", phone=phone(), current_region_code=VILLAGE))
    one, two = await leads_seen(registry, HERE)
    for user, regions in (("cun-1", [VILLAGE]), ("cun-2", [NEXT_VILLAGE])):
        await publish(nats_server.url, auth.UserCreated(user_id=__import__("uuid").uuid4(), username=user, role="grid_worker",
                                                        regions=regions), key=user)
    url = f"/api/v1/leads/{one['id']}/assign"

    async def assigned():
        response = await registry.post(url, json={"username": "cun-1"}, headers=OFFICIAL)
        return response.status_code == 200 and response.json()

    assert (await eventually(assigned))["assignee"] == "cun-1"
    wrong = await registry.post(url, json={"username": "cun-2"}, headers=OFFICIAL)
    assert wrong.status_code == 422 and wrong.json()["code"] == "assignee_out_of_region"
    unknown = await registry.post(url, json={"username": "nobody"}, headers=OFFICIAL)
    assert unknown.status_code == 422 and unknown.json()["code"] == "assignee_out_of_region"
    assert (await registry.post(url, json={"username": "cun-1"}, headers=HERE)).status_code == 403

    outcome = f"/api/v1/leads/{two['id']}/outcome"
    needs = await registry.post(outcome, json={"outcome": "registered"}, headers=HERE)
    assert needs.status_code == 422 and needs.json()["code"] == "person_id_required"
    assert (await registry.post(outcome, json={"outcome": "left_area"}, headers=NEXT)).status_code == 404
    assert (await registry.post(outcome, json={"outcome": "gone"}, headers=HERE)).status_code == 422
    done = await registry.post(outcome, json={"outcome": "left_area", "note": "已返回武汉"}, headers=HERE)
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["outcome"], done.json()["note"]) == ("closed", "left_area", "已返回武汉")
    assert [x["id"] for x in await leads_seen(registry, HERE, status="closed")] == [two["id"]]
    assert (await registry.post(outcome, json={"outcome": "not_found"}, headers=HERE)).json()["code"] == "lead_closed"
    closed = await events_of(registry, nats_server.url, "registry.lead.closed")
    assert [(e["lead_id"], e["outcome"], e["closed_by"]) for e in closed] == [(two["id"], "left_area", "cun-1")]


def xlsx(rows: list[list]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_lists_import_from_csv_gbk_xlsx_and_ndjson_once(registry):
    await places(registry)
    numbers = [id_number() for _ in range(4)]
    mobiles = [phone() for _ in range(4)]
    csv = ("姓名,身份证号,手机号,所在地,原因\n"
           f"张三,{numbers[0]},{mobiles[0]},{VILLAGE},武汉市协查：江汉区高风险地区停留\n"
           f"李四,,{mobiles[1]},{NEXT_VILLAGE},上海市协查\n"
           f"王五,{numbers[0][:-1]}{'1' if numbers[0][-1] != '1' else '2'},,{VILLAGE},校验位错误\n"
           f"赵六,{numbers[1]},,110105,不在辖区\n"
           f"钱七,,,{VILLAGE},无联系方式\n")
    gbk = await registry.post("/api/v1/leads/import", content=csv.encode("gbk"), headers={**OFFICIAL, "content-type": "text/csv"})
    assert gbk.status_code == 200, gbk.text
    result = gbk.json()
    assert (result["accepted"], result["duplicates"]) == (2, 0)
    assert [(r["line"], r["code"]) for r in result["rejected"]] == [(4, "id_number_invalid"), (5, "region_forbidden"), (6, "person_missing")]
    again = await registry.post("/api/v1/leads/import", content=csv.encode("utf-8"), headers={**OFFICIAL, "content-type": "text/csv"})
    assert (again.json()["accepted"], again.json()["duplicates"]) == (0, 2)

    sheet = xlsx([["序号", "姓名", "身份证号", "手机号", "所在地", "原因"],
                  [1, "孙八", numbers[2], int(mobiles[2]), int(VILLAGE), "南京市协查"],
                  [2, "张三", numbers[0], None, VILLAGE, "南京市协查"],  # listed before: the same lead, one more reason
                  [3, None, None, None, None, None],  # a numbered row left empty: named, not taken
                  [None, None, None, None, None, None],  # a blank row: skipped
                  [4, "周九", numbers[3], None, None, "未填所在地：导入者的地区"]])
    imported = await registry.post("/api/v1/leads/import", content=sheet, headers={**OFFICIAL, "content-type": XLSX})
    assert imported.status_code == 200, imported.text
    assert imported.json()["accepted"] == 3
    assert [(r["line"], r["code"]) for r in imported.json()["rejected"]] == [(4, "person_missing")]
    lines = ndjson({"name": "吴十", "phone": mobiles[3], "region_code": VILLAGE, "reason": "协查"},
                   {"姓名": "郑一", "手机号": "123", "所在地": VILLAGE, "原因": "协查"})
    answered = (await registry.post("/api/v1/leads/import", content=lines, headers={**OFFICIAL, **NDJSON})).json()
    assert answered["accepted"] == 1 and [(r["line"], r["code"]) for r in answered["rejected"]] == [(2, "phone_invalid")]

    found = await leads_seen(registry, OFFICIAL, limit=50)
    assert len(found) == 5 and {x["source"] for x in found} == {"import"}
    zhang = next(x for x in found if x["id_number_masked"] == pii.mask_id_number(numbers[0]))
    assert zhang["name"] == "张三" and zhang["phone_masked"] == pii.mask_phone(mobiles[0])
    assert [r["detail"] for r in zhang["reasons"]] == ["武汉市协查：江汉区高风险地区停留", "南京市协查"]
    assert {r["rule"] for r in zhang["reasons"]} == {"assist_request"}
    assert next(x for x in found if x["name"] == "周九")["region_code"] == "320413"
    assert next(x for x in found if x["name"] == "孙八")["region_code"] == VILLAGE


async def test_a_list_without_its_columns_or_in_another_format_is_refused(registry):
    missing = await registry.post("/api/v1/leads/import", content="姓名,手机号\n张三,13800000000\n".encode(),
                                  headers={**OFFICIAL, "content-type": "text/csv"})
    assert missing.status_code == 422 and missing.json()["code"] == "columns_missing"
    assert missing.json()["missing"] == ["region_code", "reason"]
    assert "所在地" in missing.json()["detail"] and "原因" in missing.json()["detail"]
    nobody = await registry.post("/api/v1/leads/import", content=xlsx([["姓名", "所在地", "原因"]]), headers={**OFFICIAL, "content-type": XLSX})
    assert nobody.status_code == 422 and nobody.json()["missing"] == ["id_number|phone"]
    broken = await registry.post("/api/v1/leads/import", content=b"PK not a workbook", headers={**OFFICIAL, "content-type": XLSX})
    assert broken.status_code == 422 and broken.json()["code"] == "xlsx_invalid"
    assert (await registry.post("/api/v1/leads/import", content=b"x", headers={**OFFICIAL, "content-type": "application/pdf"})).status_code == 415
    assert (await registry.post("/api/v1/leads/import", content=b"x", headers={**GRID, "content-type": "text/csv"})).status_code == 403


async def test_a_workbook_damaged_mid_way_is_refused_and_the_mended_one_imports_once(registry):
    """The sheet is imported as it is read: a file damaged after its first 1,600 rows answers 422 naming the
    row, keeps what it had written, and the mended file imports the rest with those counted as duplicates."""
    import zipfile

    await places(registry)
    book = Workbook(write_only=True)  # no <dimension>, as write-only workbooks and many exporters save them
    sheet = book.create_sheet()
    sheet.append(["姓名", "手机号", "所在地", "原因"])
    for i in range(1_700):
        sheet.append([f"协查人员{i}", phone(), VILLAGE, "外省协查函"])
    whole = io.BytesIO()
    book.save(whole)
    damaged = io.BytesIO()
    with zipfile.ZipFile(whole) as source, zipfile.ZipFile(damaged, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[:data.index(b'<row r="1601"')] + b"<row"  # cut short, as an interrupted save leaves it
            out.writestr(item, data)
    headers = {**OFFICIAL, "content-type": XLSX}

    refused = await registry.post("/api/v1/leads/import", content=damaged.getvalue(), headers=headers)
    assert refused.status_code == 422 and refused.json()["code"] == "xlsx_invalid"
    assert refused.json()["detail"].startswith("工作簿第 1600 行之后的内容无法读取")
    mended = (await registry.post("/api/v1/leads/import", content=whole.getvalue(), headers=headers)).json()
    assert mended["accepted"] + mended["duplicates"] == 1_700 and mended["duplicates"] >= 1_000
    assert not mended["rejected"]


async def test_an_overdue_lead_is_told_once_and_counted(registry, nats_server):
    await places(registry)
    await registry.put("/api/v1/risk-areas/420106", json={"level": "high"}, headers=OFFICIAL)
    await push(registry, record("d-1", phone=phone(), current_region_code=VILLAGE),
               record("d-2", phone=phone(), current_region_code=VILLAGE))
    early, late = await leads_seen(registry, HERE)
    await registry.post(f"/api/v1/leads/{early['id']}/outcome", json={"outcome": "unreachable"}, headers=HERE)
    start = utcnow()
    later = start + timedelta(hours=24, minutes=1)
    await clockwork.overdue_leads(registry.app, start + timedelta(hours=23))
    await clockwork.overdue_leads(registry.app, later)
    await clockwork.overdue_leads(registry.app, later + timedelta(hours=1))  # once only
    overdue = await events_of(registry, nats_server.url, "registry.lead.overdue")
    assert [(e["lead_id"], e["county_code"], e["region_code"]) for e in overdue] == [(late["id"], "320413", VILLAGE)]
    registry.app.state.clock = lambda: later
    assert [x["id"] for x in await leads_seen(registry, HERE, overdue="true")] == [late["id"]]
    assert [x["id"] for x in await leads_seen(registry, HERE, overdue="false")] == [early["id"]]
    roster = {"township_cadre": "z", "village_cadre": "c", "doctor": "d", "police": "p", "grid_worker": "cun-1"}
    assert (await registry.put(f"/api/v1/regions/{VILLAGE}/roster", json=roster, headers=OFFICIAL)).status_code == 200
    draft = await registry.get("/api/v1/daily-reports/draft", params={"region_code": VILLAGE, "date": local_date(later).isoformat()},
                               headers=HERE)
    assert draft.json()["leads"] == {"open": 1, "overdue": 1}


async def test_the_leads_list_answers_what_the_lead_models_would_byte_for_byte(registry):
    """The list reads plain rows and makes its bytes once; they are the bytes ``schemas.LeadPage`` of the leads loaded
    whole would make, for several filters and every cursor of each."""
    from cordon import paging
    from cordon.auth import Principal
    from services.registry import schemas
    from services.registry.api.leads import _read
    from services.registry.models import Lead
    from services.registry.service import leads

    await places(registry)
    lines = ndjson(*({"name": name, "phone": phone(), "region_code": region, "reason": reason}
                     for name, region, reason in [("张三", VILLAGE, "武汉市协查：\"江汉区\""), ("李四", NEXT_VILLAGE, "上海市协查"),
                                                  ("欧阳娜娜", VILLAGE, "南京市协查"), ("Anna", "320413", "协查 \\ 复核")]))
    assert (await registry.post("/api/v1/leads/import", content=lines, headers={**OFFICIAL, **NDJSON})).json()["accepted"] == 4
    first = (await leads_seen(registry, OFFICIAL, limit=1))[0]
    closed = await registry.post(f"/api/v1/leads/{first['id']}/outcome", json={"outcome": "left_area", "note": "已返回武汉"},
                                 headers=OFFICIAL)
    assert closed.status_code == 200, closed.text
    principal = Principal(subject="official-jt", role="official", regions=("320413",), username="official-jt")
    filters = [{}, {"status": "open"}, {"status": "closed"}, {"region_code": VILLAGE}, {"overdue": False}, {"overdue": True}]
    for params in filters:
        for limit in (1, 50):
            cursor, pages = None, 0
            while True:
                answer = await registry.get("/api/v1/leads", params={**params, "limit": limit, **({"cursor": cursor} if cursor else {})},
                                            headers=OFFICIAL)
                assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
                schemas.LeadPage.model_validate(answer.json())
                now = utcnow()
                async with registry.app.state.sessionmaker() as session:
                    query = leads.selection(principal=principal, now=now, **{"status": None, "region_code": None, "overdue": None, **params})
                    page = await paging.keyset(session, query, order=(Lead.created_at, Lead.id), limit=limit, cursor=cursor,
                                               descending=True)
                expected = schemas.LeadPage(items=[_read(lead, now) for lead in page.items], next_cursor=page.next_cursor)
                assert answer.content == expected.model_dump_json().encode(), params
                pages, cursor = pages + 1, answer.json()["next_cursor"]
                if not cursor:
                    break
            assert pages >= 1
    assert [x["outcome"] for x in await leads_seen(registry, OFFICIAL, status="closed")] == ["left_area"]
