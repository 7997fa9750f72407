"""People through the API: codes, scoping, masking, reveal, lists."""

from __future__ import annotations

from cordon import pii
from tests.registry.integration.people import ADMIN, GRID, OFFICIAL, id_number, phone, register
from tests.tokens import bearer

OTHER_OFFICIAL = bearer("official", regions=["110101"], username="official-bj")
CITY_OFFICIAL = bearer("official", regions=["320400"], username="official-cz")
LAB = bearer("lab", username="lab-1")


async def test_register_read_and_masking(registry):
    person = await register(registry, address="金坛区某路1号", tags=["returnee"])
    assert person["id_number_masked"] == pii.mask_id_number(person["_id_number"])
    assert person["phone_masked"] == pii.mask_phone(person["_phone"])
    body = (await registry.get(f"/api/v1/persons/{person['id']}", headers=GRID)).text
    assert person["_id_number"] not in body and person["_phone"] not in body
    assert (await registry.get(f"/api/v1/persons/{person['id']}", headers=CITY_OFFICIAL)).status_code == 200


async def test_bad_id_number_and_phone_and_region(registry):
    good = id_number()
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")  # the same number with its check character changed
    r = await registry.post("/api/v1/persons", json={"id_number": bad, "name": "李四", "phone": phone(), "region_code": "320413"}, headers=GRID)
    assert r.status_code == 422 and r.json()["code"] == "id_number_invalid"
    assert r.headers["content-type"] == "application/problem+json"
    r = await registry.post("/api/v1/persons", json={"id_number": id_number(), "name": "李四", "phone": "12345", "region_code": "320413"}, headers=GRID)
    assert r.status_code == 422 and r.json()["code"] == "phone_invalid"
    r = await registry.post("/api/v1/persons", json={"id_number": id_number(), "name": "李四", "region_code": "110101"}, headers=GRID)
    assert r.status_code == 403 and r.json()["code"] == "region_forbidden"
    r = await registry.post("/api/v1/persons", json={"name": "李四"}, headers=GRID)
    assert r.status_code == 422 and r.json()["code"] == "validation_error"
    assert {e["field"] for e in r.json()["errors"]} >= {"id_number", "region_code"}


async def test_duplicate_id_number_is_409_with_the_existing_id(registry):
    person = await register(registry)
    again = await registry.post(
        "/api/v1/persons",
        json={"id_number": person["_id_number"].lower(), "name": "重复", "region_code": "320413"},
        headers=GRID,
    )
    assert again.status_code == 409
    assert again.json()["code"] == "person_exists" and again.json()["id"] == person["id"]


async def test_region_scoping_is_404_outside(registry):
    person = await register(registry)
    for path in ("", "/health-code", "/measures"):
        r = await registry.get(f"/api/v1/persons/{person['id']}{path}", headers=OTHER_OFFICIAL)
        assert r.status_code == 404, path
    r = await registry.get("/api/v1/persons/lookup", params={"id_number": person["_id_number"]}, headers=OTHER_OFFICIAL)
    assert r.status_code == 404
    r = await registry.patch(f"/api/v1/persons/{person['id']}", json={"name": "改"}, headers=OTHER_OFFICIAL)
    assert r.status_code == 404


async def test_roles_and_tokens(registry):
    person = await register(registry)
    assert (await registry.get(f"/api/v1/persons/{person['id']}")).status_code == 401
    assert (await registry.get(f"/api/v1/persons/{person['id']}", headers={"Authorization": "Bearer nonsense"})).json()["code"] == "token_invalid"
    expired = bearer("official", regions=["320413"], ttl=-60)
    assert (await registry.get(f"/api/v1/persons/{person['id']}", headers=expired)).json()["code"] == "token_expired"
    assert (await registry.get(f"/api/v1/persons/{person['id']}", headers=LAB)).status_code == 403
    assert (await registry.get(f"/api/v1/persons/{person['id']}", headers=bearer("resident", phone_index="x"))).status_code == 403


async def test_reveal_is_for_officials_and_audited(registry):
    person = await register(registry)
    shown = await registry.get(f"/api/v1/persons/{person['id']}", params={"reveal": "true"}, headers=OFFICIAL)
    assert shown.json()["id_number"] == person["_id_number"] and shown.json()["phone"] == person["_phone"]
    refused = await registry.get(f"/api/v1/persons/{person['id']}", params={"reveal": "true"}, headers=GRID)
    assert refused.status_code == 403 and refused.json()["code"] == "reveal_forbidden"
    from sqlalchemy import select

    from cordon import db
    from services.registry.models import Audit

    engine = db.create_engine(registry.app_settings.database_url)
    async with engine.connect() as conn:
        actions = (await conn.execute(select(Audit.action, Audit.actor).where(Audit.entity_id == person["id"]))).all()
    await engine.dispose()
    assert ("reveal", "official-jt") in actions and ("create", "grid-1") in actions


async def test_lookup_and_update(registry):
    person = await register(registry)
    found = await registry.get("/api/v1/persons/lookup", params={"id_number": person["_id_number"]}, headers=GRID)
    assert found.json()["id"] == person["id"]
    missing = await registry.get("/api/v1/persons/lookup", params={"id_number": id_number()}, headers=GRID)
    assert missing.status_code == 404 and missing.json()["code"] == "person_not_found"
    bad = await registry.get("/api/v1/persons/lookup", params={"id_number": "123"}, headers=GRID)
    assert bad.status_code == 422 and bad.json()["code"] == "id_number_invalid"
    new_phone = phone()
    changed = await registry.patch(f"/api/v1/persons/{person['id']}", json={"name": "张三丰", "phone": new_phone}, headers=GRID)
    assert changed.json()["name"] == "张三丰" and changed.json()["phone_masked"] == pii.mask_phone(new_phone)
    moved = await registry.patch(f"/api/v1/persons/{person['id']}", json={"region_code": "110101"}, headers=GRID)
    assert moved.status_code == 403
    unknown = await registry.patch(f"/api/v1/persons/{person['id']}", json={"shoe_size": 42}, headers=GRID)
    assert unknown.status_code == 422


async def test_list_filters_and_cursor_pages(registry):
    ids = {(await register(registry, name=f"王{i}", tags=["student"] if i % 2 else []))["id"] for i in range(7)}
    other = await register(registry, region="320402", headers=CITY_OFFICIAL, name="赵六")
    seen, cursor = [], None
    while True:
        params = {"limit": 3, "region_code": "320413"} | ({"cursor": cursor} if cursor else {})
        page = (await registry.get("/api/v1/persons", params=params, headers=GRID)).json()
        seen += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert set(seen) == ids and len(seen) == len(ids)
    students = (await registry.get("/api/v1/persons", params={"tag": "student"}, headers=GRID)).json()["items"]
    assert len(students) == 3
    named = (await registry.get("/api/v1/persons", params={"q": "王"}, headers=GRID)).json()["items"]
    assert len(named) == 7
    greens = (await registry.get("/api/v1/persons", params={"health_code": "green"}, headers=CITY_OFFICIAL)).json()["items"]
    assert {p["id"] for p in greens} == ids | {other["id"]}
    # A grid worker of 320413 sees nothing of 320402, and may not ask for it.
    mine = (await registry.get("/api/v1/persons", headers=GRID)).json()["items"]
    assert other["id"] not in {p["id"] for p in mine}
    assert (await registry.get("/api/v1/persons", params={"region_code": "320402"}, headers=GRID)).status_code == 403
    assert (await registry.get("/api/v1/persons", params={"cursor": "!!!"}, headers=GRID)).json()["code"] == "invalid_cursor"
    everyone = (await registry.get("/api/v1/persons", params={"limit": 500}, headers=ADMIN)).json()["items"]
    assert len(everyone) == 8


async def test_me_for_residents(registry):
    person = await register(registry)
    resident = bearer("resident", sub="r", phone_index=pii.Vault.from_hex(
        registry.app_settings.pii_index_key, registry.app_settings.pii_encryption_key).index("phone", person["_phone"]))
    me = await registry.get("/api/v1/me", headers=resident)
    assert me.json()["id"] == person["id"]
    assert (await registry.get("/api/v1/me/health-code", headers=resident)).json()["color"] == "green"
    stranger = bearer("resident", sub="s", phone_index="0" * 64)
    r = await registry.get("/api/v1/me", headers=stranger)
    assert r.status_code == 404 and r.json()["code"] == "person_not_registered"
    assert (await registry.get("/api/v1/me", headers=GRID)).status_code == 403


async def test_a_duplicate_in_someone_elses_region_says_only_that_it_exists_and_is_audited(registry):
    person = await register(registry)  # in 320413
    again = await registry.post(
        "/api/v1/persons", json={"id_number": person["_id_number"], "name": "重复", "region_code": "110101"},
        headers=OTHER_OFFICIAL,
    )
    assert again.status_code == 409 and again.json()["code"] == "person_exists"
    assert "id" not in again.json() and person["id"] not in again.text and "320413" not in again.text
    trail = (await registry.get("/api/v1/audit", params={"entity": "person", "entity_id": person["id"]},
                                headers=ADMIN)).json()["items"]
    attempts = [e for e in trail if e["action"] == "duplicate_elsewhere"]
    assert len(attempts) == 1 and attempts[0]["actor"] == "official-bj"
    # The caller's own regions keep the contract's id; so does a city official over the county.
    mine = await registry.post(
        "/api/v1/persons", json={"id_number": person["_id_number"], "name": "重复", "region_code": "320413"},
        headers=CITY_OFFICIAL,
    )
    assert mine.status_code == 409 and mine.json()["id"] == person["id"]


async def test_a_list_answers_what_the_person_models_would_byte_for_byte(registry):
    """The list reads plain rows and makes its bytes once; they are the bytes ``schemas.PersonPage`` of the people
    loaded whole would make, for several filters and every cursor of each."""
    import uuid

    from sqlalchemy import update

    from cordon import paging
    from cordon.auth import Principal
    from services.registry import schemas
    from services.registry.api import views
    from services.registry.models import Person
    from services.registry.service import people

    made = [await register(registry, name=name, tags=tags, address=address, language=language, entry_date=entry)
            for name, tags, address, language, entry in [
                ("欧阳娜娜", ["student"], "金城镇东门村1号", "zh", "2022-01-03"), ("李", [], None, "en", None),
                ("王小明", ["student", "returnee"], "金城镇2号", "zh", None), ("Anna Lee", [], "\"引号\" \\ 路", "en", "2021-12-30"),
                ("赵四", [], None, "zh", None)]]
    await register(registry, region="320402", headers=bearer("official", regions=["320402"], username="o-tn"), name="钱五")
    async with registry.app.state.sessionmaker() as session, session.begin():  # two red codes, as the rules would leave them
        await session.execute(update(Person).where(Person.id.in_([uuid.UUID(made[0]["id"]), uuid.UUID(made[3]["id"])]))
                              .values(health_color="red", health_reasons=[{"rule": "case", "detail": "确诊", "until": None}]))
    principal = Principal(subject="official-jt", role="official", regions=("320413",), username="official-jt")
    filters = [{}, {"region_code": "320413"}, {"region_code": "320413", "health_code": "red"}, {"health_code": "green"},
               {"tag": "student"}, {"q": "王"}, {"region_code": "320413", "health_code": "yellow"}]
    for params in filters:
        for limit in (2, 50):
            cursor, pages = None, 0
            while True:
                answer = await registry.get("/api/v1/persons", params={**params, "limit": limit, **({"cursor": cursor} if cursor else {})},
                                            headers=OFFICIAL)
                assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
                schemas.PersonPage.model_validate(answer.json())
                async with registry.app.state.sessionmaker() as session:
                    query = people.selection(principal=principal, **{"region_code": None, "tag": None, "health_code": None,
                                                                     "q": None, **params})
                    page = await paging.keyset(session, query, order=(Person.id,), limit=limit, cursor=cursor)
                expected = schemas.PersonPage(items=[views.person(p) for p in page.items], next_cursor=page.next_cursor)
                assert answer.content == expected.model_dump_json().encode(), params
                pages, cursor = pages + 1, answer.json()["next_cursor"]
                if not cursor:
                    break
            assert pages >= 1
    red = (await registry.get("/api/v1/persons", params={"health_code": "red"}, headers=OFFICIAL)).json()["items"]
    assert {p["id"] for p in red} == {made[0]["id"], made[3]["id"]}
    assert next(p for p in red if p["id"] == made[0]["id"])["name_masked"] == "欧**娜"


async def test_a_nul_character_is_refused_or_stored_never_a_500(registry, backend):
    """PostgreSQL cannot store U+0000 in text: a name or a filter holding one is the caller's error (422),
    answered in Chinese; SQLite stores it. Never a 500, and nothing half-written."""
    listed = await registry.get("/api/v1/persons", params={"tag": "a\x00b", "q": "张\x00"}, headers=GRID)
    created = await registry.post("/api/v1/persons", json={"id_number": id_number(), "name": "张\x00三", "region_code": "320413"},
                                  headers=GRID)
    if backend == "postgres":
        for answer in (listed, created):
            assert answer.status_code == 422, answer.text
            assert answer.json()["code"] == "validation_error" and "空字符" in answer.json()["detail"]
        everyone = (await registry.get("/api/v1/persons", headers=GRID)).json()["items"]
        assert not [p for p in everyone if p["name"].startswith("张")]
    else:
        assert listed.status_code == 200 and created.status_code == 201
