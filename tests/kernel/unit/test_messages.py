"""Errors in Chinese by default, English on request: language choice, pydantic messages, the code catalogue."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Literal

import pytest
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from cordon import messages
from cordon.messages import CODES, EN, ZH, field_message, language


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, ZH), ("", ZH), ("zh-CN", ZH), ("en", EN), ("en-US,en;q=0.9", EN), ("zh-CN,zh;q=0.9,en;q=0.8", ZH),
     ("en;q=0.5,zh;q=0.6", ZH), ("zh;q=0.2,en;q=0.3", EN), ("fr-FR,fr;q=0.9", ZH), ("*", ZH), ("en;q=abc", ZH),
     ("EN-gb", EN), (";;;,,,", ZH)],
)
def test_language_is_chinese_unless_english_is_preferred(header, expected):
    assert language(header) == expected


class Form(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=2, max_length=4)
    code: str = Field(default="000000", pattern=r"^[0-9]{6}$")
    color: Literal["green", "yellow", "red"] = "green"
    day: dt.date | None = None
    at: AwareDatetime | None = None
    temperature: float = Field(default=36.5, ge=35, le=43)
    count: int = Field(default=1, gt=0)
    flag: bool = False
    id: uuid.UUID | None = None
    items: list[int] = Field(default=[], max_length=2)


def errors_of(**data) -> dict[str, dict]:
    with pytest.raises(ValidationError) as caught:
        Form.model_validate(data)
    return {".".join(map(str, e["loc"])): e for e in caught.value.errors()}


def test_pydantic_messages_in_careful_chinese():
    found = errors_of(name="a", code="12ab", color="blue", day="2022-13-01", at="2022-01-01T08:00:00", temperature=50,
                      count=0, flag="maybe", id="x", items=[1, 2, 3], other=1)
    zh = {field: field_message(e, ZH) for field, e in found.items()}
    assert zh == {
        "name": "长度不能少于 2 个字符。",
        "code": "格式不正确。",
        "color": "取值应为以下之一：green、yellow、red。",
        "day": "日期格式不正确，应为 YYYY-MM-DD。",
        "at": "时间须带时区，如 +08:00。",
        "temperature": "不能大于 43。",
        "count": "应大于 0。",
        "flag": "应为布尔值（true 或 false）。",
        "id": "应为有效的 UUID。",
        "items": "最多只能有 2 项。",
        "other": "不接受此字段。",
    }
    assert field_message(errors_of(name="abcdef")["name"], ZH) == "长度不能超过 4 个字符。"
    assert field_message(errors_of()["name"], ZH) == "此项为必填项。"
    assert field_message(errors_of(name=5)["name"], ZH) == "应为文本。"
    assert field_message(errors_of(name="ab", count="x")["count"], ZH) == "应为整数。"
    assert field_message(errors_of(name="ab", temperature=1)["temperature"], ZH) == "不能小于 35。"
    assert field_message(errors_of(name="ab", at="soon")["at"], ZH).startswith("时间格式不正确")
    # English: pydantic's own message, unchanged.
    assert field_message(found["name"], EN) == found["name"]["msg"]
    # An unknown type still reads as Chinese, never as English.
    assert field_message({"type": "something_new", "msg": "Something new"}, ZH) == "填写有误。"


def test_every_code_has_a_status_chinese_and_english():
    for code, entry in CODES.items():
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", code), code
        assert 400 <= entry.status < 600, code
        assert re.search(r"[\u4e00-\u9fff]", entry.zh) and entry.zh.endswith("。"), code
        assert not re.search(r"[\u4e00-\u9fff]", entry.en), code
    for english, zh in messages.SENTENCES.items():
        assert re.search(r"[\u4e00-\u9fff]", zh) and zh.endswith("。"), english


def test_details_keep_their_values_in_chinese():
    detail = messages.detail("gathering_prohibited", "Gatherings of 300 or more people are prohibited (350 expected).", ZH)
    assert "300" in detail and "350" in detail and re.search(r"[\u4e00-\u9fff]", detail)
    assert messages.detail("person_not_found", "No such person.", ZH) == "未找到该人员。"
    assert messages.detail("person_not_found", "No such person.", EN) == "No such person."
    assert messages.detail("forbidden", "This action is for: admin, official.", ZH) == "此项操作仅限以下角色办理：admin, official。"
    assert messages.detail("some_new_code", "Something new.", ZH) == "Something new."
    # Raised in both languages: each gets its own.
    both = "日期须在 2020-01-01 至 2030-01-01 之间（a date from 2020-01-01 to 2030-01-01）"
    assert messages.localize(both, ZH) == "日期须在 2020-01-01 至 2030-01-01 之间。"
    assert messages.localize(both, EN) == "A date from 2020-01-01 to 2030-01-01."
    assert field_message({"type": "date_out_of_range", "msg": both}, ZH) == "日期须在 2020-01-01 至 2030-01-01 之间。"
    assert messages.detail("token_revoked", "此登录凭证已失效，请重新登录（log in again）。", EN) == "Log in again."
    # A detail raised in Chinese stays; English comes from the catalogue.
    assert messages.detail("wechat_bound", "该账号无法绑定微信。", ZH) == "该账号无法绑定微信。"
    assert messages.detail("wechat_bound", "该账号无法绑定微信。", EN) == CODES["wechat_bound"].en


def test_batch_answers_name_bad_lines_in_the_callers_language():
    from cordon.batches import Tally

    tally = Tally()
    tally.reject(1, "phone_invalid", "phone is not a mainland mobile number")
    tally.reject(2, "too_long", "行超过 1 MB，未读取（the line is longer than 1 MB and was not read）")
    tally.reject(3, "invalid_date", "first_seen must be a date (YYYY-MM-DD) or a time with offset")
    assert [r.message for r in tally.result().rejected] == [  # Chinese by default
        "手机号码不是有效的中国大陆手机号码。", "行超过 1 MB，未读取。", "first_seen 应为日期（YYYY-MM-DD）或带时区的时间。"]
    token = messages.language_var.set(EN)
    try:
        assert [r.message for r in tally.result().rejected] == [
            "phone is not a mainland mobile number", "The line is longer than 1 MB and was not read.",
            "first_seen must be a date (YYYY-MM-DD) or a time with offset"]
    finally:
        messages.language_var.reset(token)
    assert [r.code for r in tally.result().rejected] == ["phone_invalid", "too_long", "invalid_date"]
