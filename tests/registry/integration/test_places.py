"""The place tree: shipped county names, naming places (PUT), children, and imports with bad lines."""

from __future__ import annotations

import orjson

from tests.registry.integration.people import ADMIN, GRID, OFFICIAL
from tests.serving import settled, stream_events
from tests.tokens import bearer

TOWNSHIP, VILLAGE, GRID_CODE = "320413100", "320413100201", "320413100201001"
CSV = {"Content-Type": "text/csv"}


async def test_every_county_is_named_from_the_start(registry):
    county = await registry.get("/api/v1/regions/320413", headers=GRID)
    assert county.status_code == 200
    assert county.json() == {"code": "320413", "name": "金坛区", "level": "county", "parent": "320400"}
    city = (await registry.get("/api/v1/regions/320400", headers=GRID)).json()
    assert city["name"] == "常州市" and city["level"] == "city" and city["parent"] == "320000"
    province = (await registry.get("/api/v1/regions/320000", headers=GRID)).json()
    assert province == {"code": "320000", "name": "江苏省", "level": "province", "parent": None}
    assert (await registry.get("/api/v1/regions/429004", headers=GRID)).json()["name"] == "仙桃市"
    provinces = (await registry.get("/api/v1/regions", params={"limit": 500}, headers=GRID)).json()
    assert len(provinces["items"]) == 31 and provinces["next_cursor"] is None
    first = (await registry.get("/api/v1/regions", params={"parent": "320400", "limit": 3}, headers=GRID)).json()
    rest = (await registry.get("/api/v1/regions", params={"parent": "320400", "cursor": first["next_cursor"]}, headers=GRID)).json()
    counties = [r["code"] for r in first["items"] + rest["items"]]
    assert counties == ["320402", "320404", "320411", "320412", "320413", "320481"] and rest["next_cursor"] is None
    unknown = await registry.get("/api/v1/regions/320499", headers=GRID)
    assert unknown.status_code == 404 and unknown.json()["code"] == "region_unknown"
    assert (await registry.get("/api/v1/regions/32", headers=GRID)).json()["code"] == "region_unknown"
    assert (await registry.get("/api/v1/regions", params={"parent": "320499"}, headers=GRID)).status_code == 404
    assert (await registry.get("/api/v1/regions/320413")).status_code == 401


async def test_naming_places_down_to_the_grid(registry, nats_server):
    township = await registry.put(f"/api/v1/regions/{TOWNSHIP}", json={"name": "金城镇"}, headers=OFFICIAL)
    assert township.status_code == 200, township.text
    assert township.json() == {"code": TOWNSHIP, "name": "金城镇", "level": "township", "parent": "320413"}
    village = await registry.put(f"/api/v1/regions/{VILLAGE}", json={"name": "东门村"}, headers=OFFICIAL)
    assert village.json()["level"] == "village"
    grid = await registry.put(f"/api/v1/regions/{GRID_CODE}", json={"name": "第一网格"}, headers=OFFICIAL)
    assert grid.json() == {"code": GRID_CODE, "name": "第一网格", "level": "grid", "parent": VILLAGE}
    renamed = await registry.put(f"/api/v1/regions/{VILLAGE}", json={"name": "东门村民委员会"}, headers=OFFICIAL)
    assert renamed.status_code == 200 and renamed.json()["name"] == "东门村民委员会"
    children = (await registry.get("/api/v1/regions", params={"parent": TOWNSHIP}, headers=GRID)).json()
    assert [c["name"] for c in children["items"]] == ["东门村民委员会"]

    orphan = await registry.put("/api/v1/regions/320413101201", json={"name": "无乡之村"}, headers=OFFICIAL)
    assert orphan.status_code == 422 and orphan.json()["code"] == "region_parent_unknown"
    for bad in ("3204131", "320413000", "abcdefghi"):
        response = await registry.put(f"/api/v1/regions/{bad}", json={"name": "x"}, headers=OFFICIAL)
        assert response.status_code == 422 and response.json()["code"] == "region_code_invalid", bad
    too_long = await registry.put(f"/api/v1/regions/{TOWNSHIP}", json={"name": "镇" * 101}, headers=OFFICIAL)
    assert too_long.status_code == 422
    # An official names places inside their own only; a grid worker names none.
    outside = await registry.put("/api/v1/regions/110101001", json={"name": "东华门街道"}, headers=OFFICIAL)
    assert outside.status_code == 403 and outside.json()["code"] == "region_forbidden"
    own = await registry.put("/api/v1/regions/320413", json={"name": "别名"}, headers=OFFICIAL)
    assert own.status_code == 403
    assert (await registry.put(f"/api/v1/regions/{TOWNSHIP}", json={"name": "x"}, headers=GRID)).status_code == 403
    assert (await registry.put("/api/v1/regions/320413", json={"name": "金坛区"}, headers=ADMIN)).status_code == 200

    await settled(nats_server.url, registry)
    announced = [d for s, d in await stream_events(nats_server.url) if s == "registry.region.changed"]
    assert [p["code"] for d in announced for p in d["places"]] == [TOWNSHIP, VILLAGE, GRID_CODE, VILLAGE]
    assert announced[1]["places"][0] == {"code": VILLAGE, "name": "东门村", "level": "village", "parent": TOWNSHIP}
    assert announced[0]["by"] == "official-jt"


async def test_csv_import_keeps_good_lines_and_names_bad_ones(registry):
    body = "\n".join([
        "code,name",
        f"{TOWNSHIP},金城镇",
        f"{VILLAGE},东门村",
        f"{VILLAGE},东门村",  # the same line twice: a duplicate
        "320413100202,\"西门村, 居委会\"",  # a quoted name with a comma
        "320413101201,无乡之村",  # its township is neither known nor earlier in the file
        "320413100203," + "村" * 101,
        "3204131002,坏代码",
        "320413100204,",
        "",
        "320413100205,南门村",
    ]).encode()
    gbk = "320413100206,北门村".encode("gbk")
    response = await registry.post("/api/v1/regions/import", content=b"\xef\xbb\xbf" + body + b"\n" + gbk + b"\n", headers={**ADMIN, **CSV})
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["accepted"], result["duplicates"]) == (4, 1)
    assert [(r["line"], r["code"]) for r in result["rejected"]] == [
        (6, "region_parent_unknown"), (7, "name_too_long"), (8, "region_code_invalid"), (9, "name_invalid"),
        (12, "encoding_invalid"),
    ]
    assert (await registry.get("/api/v1/regions/320413100202", headers=GRID)).json()["name"] == "西门村, 居委会"
    assert (await registry.get("/api/v1/regions/320413100206", headers=GRID)).status_code == 404

    again = (await registry.post("/api/v1/regions/import", content=body, headers={**ADMIN, **CSV})).json()
    assert (again["accepted"], again["duplicates"]) == (0, 5)  # everything known: nothing written twice
    overlong = b"code,name\n320413100207," + b"x" * (1024 * 1024 + 1) + b"\n320413100208,\xe4\xb8\x9c\n"
    result = (await registry.post("/api/v1/regions/import", content=overlong, headers={**ADMIN, **CSV})).json()
    assert (result["accepted"], [(r["line"], r["code"]) for r in result["rejected"]]) == (1, [(2, "line_too_long")])
    rename = b"code,name\n320413100205,\xe5\x8d\x97\xe9\x97\xa8\xe7\xa4\xbe\xe5\x8c\xba\n"  # 南门社区
    assert (await registry.post("/api/v1/regions/import", content=rename, headers={**ADMIN, **CSV})).json()["accepted"] == 1
    assert (await registry.get("/api/v1/regions/320413100205", headers=GRID)).json()["name"] == "南门社区"


async def test_an_import_announces_what_it_changed_and_survives_a_place_named_meanwhile(registry, nats_server, backend, monkeypatch):
    from services.registry.service import places

    assert (await registry.put(f"/api/v1/regions/{TOWNSHIP}", json={"name": "金城镇"}, headers=OFFICIAL)).status_code == 200
    assert (await registry.put(f"/api/v1/regions/{VILLAGE}", json={"name": "东门村"}, headers=OFFICIAL)).status_code == 200
    # The chunk's first look at the tree misses the village, as when another request names it between the chunk's
    # look and its write: on PostgreSQL the chunk's COPY then meets the village and fails whole, and the chunk is
    # written again from a fresh look. Either way each line is counted once, by what the tree held.
    real, looks = places.names, []

    async def stale_once(*, session, codes):
        found = await real(session=session, codes=codes)
        looks.append(sorted(codes))
        return {c: n for c, n in found.items() if c != VILLAGE} if len(looks) == 1 else found

    monkeypatch.setattr(places, "names", stale_once)
    body = f"code,name\n{VILLAGE},东门社区\n320413100202,西门村\n{TOWNSHIP},金城镇\n320413100202,西门村\n".encode()
    result = (await registry.post("/api/v1/regions/import", content=body, headers={**ADMIN, **CSV})).json()
    assert (result["accepted"], result["duplicates"], result["rejected_total"]) == (2, 2, 0)
    assert len(looks) == (2 if backend == "postgres" else 1)  # SQLite upserts every place: nothing to try again
    assert (await registry.get(f"/api/v1/regions/{VILLAGE}", headers=GRID)).json()["name"] == "东门社区"
    assert (await registry.get("/api/v1/regions/320413100202", headers=GRID)).json()["parent"] == TOWNSHIP

    await settled(nats_server.url, registry)
    announced = [d for s, d in await stream_events(nats_server.url) if s == "registry.region.changed"]
    assert len(announced) == 3  # the two PUTs, then the import once (nothing of a rolled-back try)
    assert announced[-1] == {"places": [
        {"code": VILLAGE, "name": "东门社区", "level": "village", "parent": TOWNSHIP},
        {"code": "320413100202", "name": "西门村", "level": "village", "parent": TOWNSHIP},
    ], "by": "admin"}

    # A known place renamed above a new one: the rename by the upsert, the new place by COPY, in one go.
    looks.clear()
    body = f"code,name\n{TOWNSHIP},金城街道\n320413100203,北门村\n".encode()
    result = (await registry.post("/api/v1/regions/import", content=body, headers={**ADMIN, **CSV})).json()
    assert (result["accepted"], result["duplicates"], len(looks)) == (2, 0, 1)
    assert (await registry.get(f"/api/v1/regions/{TOWNSHIP}", headers=GRID)).json()["name"] == "金城街道"
    assert (await registry.get("/api/v1/regions/320413100203", headers=GRID)).json()["name"] == "北门村"


async def test_an_import_in_many_chunks(registry, backend, monkeypatch):
    from services.registry.service import places

    real, looks = places.names, []

    async def looked(*, session, codes):
        looks.append(sorted(codes))
        return await real(session=session, codes=codes)

    monkeypatch.setattr(places, "names", looked)
    monkeypatch.setattr(places, "CHUNK", 2)
    lines = [
        "320413101,一镇", "320413102,二镇",  # under the shipped county
        "320413101201,一村", "320413102201,二村",  # below the places the chunk before wrote
        "320413101202,三村", "320413109201,孤村",  # the second: its township is nowhere
        "320413101201,一村", "320413102202,四村",  # a known place again, named as it is: a duplicate
        "320413101203,五村",
    ]
    body = ("code,name\n" + "\n".join(lines) + "\n").encode()
    result = (await registry.post("/api/v1/regions/import", content=body, headers={**ADMIN, **CSV})).json()
    assert (result["accepted"], result["duplicates"]) == (7, 1)
    assert [(r["line"], r["code"]) for r in result["rejected"]] == [(7, "region_parent_unknown")]
    children = (await registry.get("/api/v1/regions", params={"parent": "320413101"}, headers=GRID)).json()["items"]
    assert [c["name"] for c in children] == ["一村", "三村", "五村"]
    assert (await registry.get("/api/v1/regions/320413102202", headers=GRID)).json()["name"] == "四村"
    if backend == "postgres":
        assert looks == [
            ["320413"],
            [],  # both townships were written by the chunk before
            ["320413109"],
            ["320413102"],  # 320413101201, taken for new, makes the COPY fail: the chunk is written again, carefully
            ["320413101", "320413101201", "320413102", "320413102202"],
            ["320413101", "320413101203"],  # and so is every chunk after it
        ]


async def test_ndjson_import_and_refusals(registry):
    lines = [
        {"code": "320413102", "name": "薛埠镇"},
        {"code": "320413102201", "name": "上阮村"},
        {"code": "320413102201001", "name": "上阮村一网格"},
        {"code": 320413102202, "name": "数字代码"},
        {"name": "没有代码"},
    ]
    body = b"\n".join(orjson.dumps(x) for x in lines) + b"\nnot json\n"
    result = (await registry.post("/api/v1/regions/import", content=body, headers={**ADMIN, "Content-Type": "application/x-ndjson"})).json()
    assert result["accepted"] == 3
    assert [(r["line"], r["code"]) for r in result["rejected"]] == [(4, "region_code_invalid"), (5, "region_code_invalid"), (6, "invalid_json")]
    assert (await registry.get("/api/v1/regions/320413102201001", headers=GRID)).json()["level"] == "grid"
    no_header = await registry.post("/api/v1/regions/import", content=b"320413103,x\n", headers={**ADMIN, **CSV})
    assert no_header.status_code == 422 and no_header.json()["code"] == "csv_header_invalid"
    assert (await registry.post("/api/v1/regions/import", content=body, headers={**OFFICIAL, "Content-Type": "application/x-ndjson"})).status_code == 403
    city_official = bearer("official", regions=["320400"], username="official-cz")
    assert (await registry.post("/api/v1/regions/import", content=body, headers=city_official)).status_code == 403


async def test_roster_fall_back_and_a_move_reroutes_the_responsible_staff(registry, nats_server):
    from tests.registry.integration.people import register

    csv = f"code,name\n{TOWNSHIP},金城镇\n{VILLAGE},东门村\n{GRID_CODE},第一网格\n320413100202,西门村\n".encode()
    assert (await registry.post("/api/v1/regions/import", content=csv, headers={**ADMIN, **CSV})).json()["accepted"] == 4
    town_roster = {"township_cadre": "zhen-1", "village_cadre": None, "doctor": "doc-z", "police": "jing-z", "grid_worker": None}
    village_roster = {"township_cadre": "zhen-1", "village_cadre": "cun-dm", "doctor": "doc-dm", "police": "jing-z", "grid_worker": "grid-dm"}
    assert (await registry.put(f"/api/v1/regions/{TOWNSHIP}/roster", json=town_roster, headers=OFFICIAL)).status_code == 200
    assert (await registry.put(f"/api/v1/regions/{VILLAGE}/roster", json=village_roster, headers=OFFICIAL)).status_code == 200
    unnamed = await registry.put("/api/v1/regions/320413100299/roster", json=village_roster, headers=OFFICIAL)
    assert unnamed.status_code == 422 and unnamed.json()["code"] == "region_unknown"

    in_grid = await register(registry, region=GRID_CODE, headers=OFFICIAL)
    next_village = await register(registry, region="320413100202", headers=OFFICIAL)
    quarantine = {"kind": "home_quarantine", "starts_on": "2030-01-01", "days": 7, "reason": "排查"}
    for person in (in_grid, next_village):
        assert (await registry.post(f"/api/v1/persons/{person['id']}/measures", json=quarantine, headers=OFFICIAL)).status_code == 201
    staff = lambda p: registry.get(f"/api/v1/persons/{p['id']}/responsible-staff", headers=OFFICIAL)  # noqa: E731
    grid_staff = (await staff(in_grid)).json()
    assert grid_staff["roster_region"] == VILLAGE and grid_staff["staff"]["grid_worker"] == "grid-dm"  # no grid roster: the village's
    town_staff = (await staff(next_village)).json()
    assert town_staff["roster_region"] == TOWNSHIP and town_staff["missing"] == ["village_cadre", "grid_worker"]

    moved = await registry.patch(f"/api/v1/persons/{next_village['id']}", json={"region_code": VILLAGE}, headers=OFFICIAL)
    assert moved.status_code == 200 and moved.json()["region_code"] == VILLAGE
    rerouted = (await staff(next_village)).json()
    assert rerouted["roster_region"] == VILLAGE and rerouted["missing"] == []
    nowhere = await registry.patch(f"/api/v1/persons/{in_grid['id']}", json={"region_code": "320413100299"}, headers=OFFICIAL)
    assert nowhere.status_code == 422 and nowhere.json()["code"] == "region_unknown"
    assert (await registry.get("/api/v1/persons", params={"region_code": VILLAGE}, headers=OFFICIAL)).json()["items"]


async def test_daily_reports_per_village_and_the_summary_one_level_at_a_time(registry):
    from datetime import date

    csv = (f"code,name\n{TOWNSHIP},金城镇\n{VILLAGE},东门村\n{GRID_CODE},第一网格\n320413100202,西门村\n"
           "320413101,薛埠镇\n320413101201,上阮村\n").encode()
    assert (await registry.post("/api/v1/regions/import", content=csv, headers={**ADMIN, **CSV})).json()["accepted"] == 6
    for unit in ("320413100202", GRID_CODE, "320413101201"):  # two villages; in 东门村 its grid reports
        assert (await registry.put(f"/api/v1/regions/{unit}/roster", json={"grid_worker": "g"}, headers=OFFICIAL)).status_code == 200
    day = "2030-01-02"
    counts = {"returnees_screened": 3, "under_control": 1, "fever": 0, "tests_taken": 5}
    village_worker = bearer("grid_worker", regions=["320413100202"], username="cun-xm")
    sent = await registry.post("/api/v1/daily-reports", json={"region_code": "320413100202", "date": day, "zero": False, "counts": counts}, headers=village_worker)
    assert sent.status_code == 201, sent.text
    sent = await registry.post("/api/v1/daily-reports", json={"region_code": GRID_CODE, "date": day, "zero": True}, headers=OFFICIAL)
    assert sent.status_code == 201
    not_theirs = await registry.post("/api/v1/daily-reports", json={"region_code": "320413101201", "date": day, "zero": True}, headers=village_worker)
    assert not_theirs.status_code == 404

    missing = (await registry.get("/api/v1/daily-reports", params={"date": day, "status": "missing", "region_code": "320413"}, headers=OFFICIAL)).json()
    assert [m["region_code"] for m in missing["items"]] == ["320413101201"]
    county = (await registry.get("/api/v1/daily-reports/summary", params={"region_code": "320413", "date": day}, headers=OFFICIAL)).json()
    assert (county["name"], county["expected"], county["submitted"], county["missing"]) == ("金坛区", 3, 2, 1)
    assert county["counts"] == counts
    assert [(c["region_code"], c["name"], c["expected"], c["submitted"]) for c in county["children"]] == [
        (TOWNSHIP, "金城镇", 2, 2), ("320413101", "薛埠镇", 1, 0)]
    township = (await registry.get("/api/v1/daily-reports/summary", params={"region_code": TOWNSHIP, "date": day}, headers=OFFICIAL)).json()
    assert [(c["region_code"], c["submitted"], c["counts"]["tests_taken"]) for c in township["children"]] == [
        (VILLAGE, 1, 0), ("320413100202", 1, 5)]
    city = (await registry.get("/api/v1/daily-reports/summary", params={"region_code": "320400", "date": day}, headers=OFFICIAL))
    assert city.status_code == 404  # outside the county official's places
    city = (await registry.get("/api/v1/daily-reports/summary", params={"region_code": "320400", "date": day}, headers=ADMIN)).json()
    assert [c["region_code"] for c in city["children"]] == ["320413"] and city["expected"] == 3
    assert date.fromisoformat(city["date"]) == date(2030, 1, 2)


async def test_the_duties_are_the_policys(registry):
    """四包一 or 六包一: the policy names the duties a roster fills; the five are only its default."""
    import yaml

    from cordon.policy import DEFAULT_PATH

    document = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    document["rosters"] = {"duties": ["township_cadre", "village_cadre", "doctor", "police", "grid_worker", "volunteer"]}
    put = await registry.put("/api/v1/policies/active", content=yaml.safe_dump(document, allow_unicode=True).encode(),
                             headers={**ADMIN, "content-type": "application/yaml"})
    assert put.status_code == 200, put.text
    roster = await registry.put("/api/v1/regions/320413/roster", json={"grid_worker": "g", "volunteer": "志愿者"}, headers=OFFICIAL)
    assert roster.status_code == 200, roster.text
    assert roster.json()["staff"]["volunteer"] == "志愿者" and roster.json()["missing"] == ["township_cadre", "village_cadre", "doctor", "police"]
    unknown = await registry.put("/api/v1/regions/320413/roster", json={"grid_worker": "g", "chef": "x"}, headers=OFFICIAL)
    assert unknown.status_code == 422 and unknown.json()["code"] == "duty_unknown"
