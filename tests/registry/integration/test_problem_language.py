"""Problems in the caller's language: Chinese by default, English on request (Accept-Language),
for title, detail and field messages; code and field names never change. And /docs, /redoc offline."""

from __future__ import annotations

import re
import uuid
from http import HTTPStatus

from tests.registry.integration.people import GRID, id_number

EN = {"Accept-Language": "en-US,en;q=0.9"}
CHINESE = re.compile(r"[\u4e00-\u9fff]")


async def test_validation_errors_in_chinese_by_default_and_english_on_request(registry):
    body = {"id_number": id_number(), "name": "李" * 101, "region_code": "3204", "tags": ["tourist"], "extra": 1}
    zh = (await registry.post("/api/v1/persons", json=body, headers=GRID)).json()
    en = (await registry.post("/api/v1/persons", json=body, headers={**GRID, **EN})).json()
    assert zh["code"] == en["code"] == "validation_error"
    assert zh["title"] == "请求内容未通过校验" and en["title"] == HTTPStatus(422).phrase
    assert CHINESE.search(zh["detail"]) and en["detail"] == "The request has invalid fields."
    messages = {e["field"]: e["message"] for e in zh["errors"]}
    assert messages["name"] == "长度不能超过 100 个字符。"
    assert messages["region_code"] == "长度不能少于 6 个字符。"
    assert messages["tags.0"].startswith("取值应为以下之一：inbound、returnee")
    assert messages["extra"] == "不接受此字段。"
    assert [e["field"] for e in zh["errors"]] == [e["field"] for e in en["errors"]]
    assert all(not CHINESE.search(e["message"]) for e in en["errors"])

    missing = (await registry.post("/api/v1/persons", json={}, headers=GRID)).json()
    assert {e["message"] for e in missing["errors"]} == {"此项为必填项。"}
    dated = (await registry.post("/api/v1/me/travel-declarations", json={}, headers=GRID)).json()
    assert dated["code"] == "forbidden" and dated["title"] == "无权执行此操作"


async def test_domain_errors_carry_chinese_and_english(registry):
    missing = f"/api/v1/persons/{uuid.uuid4()}/health-code"
    zh = await registry.get(missing, headers=GRID)
    en = await registry.get(missing, headers={**GRID, "Accept-Language": "en"})
    assert zh.status_code == en.status_code == 404
    assert zh.headers["content-type"] == "application/problem+json"
    assert (zh.json()["code"], zh.json()["detail"], zh.json()["title"]) == ("person_not_found", "未找到该人员。", "未找到")
    assert (en.json()["code"], en.json()["detail"], en.json()["title"]) == ("person_not_found", "No such person.", "Not Found")
    # Chinese preferred over English, or an unknown language: Chinese.
    for header in ("zh-CN,zh;q=0.9,en;q=0.8", "fr-FR", "en;q=0.5,zh;q=0.6", ""):
        assert (await registry.get(missing, headers={**GRID, "Accept-Language": header})).json()["detail"] == "未找到该人员。"

    anonymous = (await registry.get(missing)).json()
    assert (anonymous["code"], anonymous["detail"]) == ("unauthenticated", "请先登录：需要有效的访问令牌。")
    forbidden = (await registry.post("/api/v1/persons", json={"id_number": id_number(), "name": "李四", "region_code": "110101"},
                                     headers=GRID)).json()
    assert (forbidden["code"], forbidden["detail"]) == ("region_forbidden", "该地区不在您的管辖范围内。")


async def test_docs_and_redoc_work_without_internet(registry):
    for page in ("/docs", "/redoc"):
        html = (await registry.get(page)).text
        assert "/openapi.json" in html
        assert not re.search(r"(src|href)=[\"']?(https?:)?//", html), f"{page} loads something from elsewhere"
        for asset in re.findall(r"(?:src|href)=[\"']([^\"']+)[\"']", html):
            answer = await registry.get(asset)
            assert answer.status_code == 200 and len(answer.content) > 1000, asset
