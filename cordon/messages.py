"""What a person reads in an error, in Chinese (the default) and English (on request).

- ``language(header)`` picks ``zh`` or ``en`` from ``Accept-Language``; Chinese unless English is preferred.
- ``CODES``: every problem ``code`` a client can switch on, with its HTTP status and a message in
  each language. The OpenAPI document lists, per operation, the codes it can answer (``cordon.apidoc``).
- ``SENTENCES``: the Chinese of the English details and field messages the services raise today,
  so a specific sentence stays specific; a detail not listed falls back to its code's message.
- ``field_message(error, lang)``: pydantic's validation messages, in careful official Chinese.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass
from http import HTTPStatus

ZH, EN = "zh", "en"
# The request's language, for problems built outside an exception handler (the gateway's own answers).
language_var: ContextVar[str] = ContextVar("cordon_language", default=ZH)

_CJK = re.compile(r"[\u4e00-\u9fff]")
_RANGE = re.compile(r"^\s*([A-Za-z]{1,8}|\*)(?:-[A-Za-z0-9]{1,8})*\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*$")


def language(header: str | None) -> str:
    """``en`` when the caller prefers English to Chinese, else ``zh`` (also for a missing or odd header)."""
    best: dict[str, float] = {}
    for part in (header or "").split(",")[:20]:
        m = _RANGE.match(part)
        if not m:
            continue
        tag = m.group(1).lower()
        try:
            q = float(m.group(2)) if m.group(2) else 1.0
        except ValueError:
            continue
        if tag in (ZH, EN):
            best[tag] = max(best.get(tag, 0.0), q)
    return EN if best.get(EN, 0.0) > best.get(ZH, 0.0) else ZH


TITLES_ZH = {
    400: "请求有误",
    401: "未通过身份认证",
    403: "无权执行此操作",
    404: "未找到",
    405: "不支持该请求方法",
    406: "无法提供所要求的格式",
    409: "与当前状态冲突",
    413: "请求内容过大",
    415: "不支持的内容类型",
    422: "请求内容未通过校验",
    429: "请求过于频繁",
    500: "服务器内部错误",
    502: "上游服务异常",
    503: "服务暂不可用",
    504: "上游服务超时",
}


def title(status: int, lang: str) -> str:
    phrase = HTTPStatus(status).phrase
    return TITLES_ZH.get(status, phrase) if lang == ZH else phrase


@dataclass(frozen=True)
class Code:
    status: int
    zh: str
    en: str
    also: tuple[int, ...] = ()  # other statuses the code comes with (a route declares it as "code@status")


CODES: dict[str, Code] = {
    # 400
    "bad_request": Code(400, "请求有误。", "The request is not valid."),
    "invalid_json": Code(400, "请求体不是有效的 JSON。", "The request body is not valid JSON."),
    "invalid_cursor": Code(400, "分页游标无效，请从第一页重新查询。", "The cursor is not one this list gave out."),
    # 401
    "unauthenticated": Code(401, "请先登录：需要有效的访问令牌。", "A bearer token is required."),
    "token_invalid": Code(401, "访问令牌无效，请重新登录。", "The token is not valid."),
    "token_expired": Code(401, "访问令牌已过期，请重新登录。", "The token has expired."),
    "token_revoked": Code(401, "此登录凭证对应的手机号已变更，请重新登录。", "The phone number of this login changed; log in again."),
    "invalid_credentials": Code(401, "用户名或密码错误。", "Wrong username or password."),
    "invalid_code": Code(401, "验证码错误、已使用或已过期。", "The code is wrong, used or expired."),
    "wechat_code_invalid": Code(401, "微信登录凭证无效、已使用或已过期，请重新登录。", "The wx.login code is not valid, used or expired."),
    "invalid_api_key": Code(401, "API 密钥无效。", "The API key is not valid."),
    "account_disabled": Code(401, "该账号已停用，请联系管理员。", "This account has been deactivated; ask an administrator."),
    # 403
    "forbidden": Code(403, "您的角色无权执行此操作。", "Your role may not do this."),
    "region_forbidden": Code(403, "该地区不在您的管辖范围内。", "The region is outside your regions."),
    "wechat_user_blocked": Code(403, "微信已拦截该用户的登录。", "WeChat has blocked this user's sign-in."),
    "scope_missing": Code(403, "该 API 密钥无权访问此接口。", "This API key does not open this route."),
    "move_forbidden": Code(403, "跨县（区）转出、转入须由同时管辖两地的防控干部办理。", "Moving a person to another county is for an official who sees both."),
    "reveal_forbidden": Code(403, "您的角色无权查看未脱敏的个人信息。", "Your role may not see personal data in clear."),
    # 404
    "not_found": Code(404, "未找到所请求的资源。", "Not found."),
    "person_not_found": Code(404, "未找到该人员。", "No such person."),
    "person_not_registered": Code(
        404, "您尚未登记，请联系所在村（社区）网格员办理登记。", "You are not registered yet; a grid worker registers residents."
    ),
    "region_unknown": Code(404, "未找到该地区。", "No such place.", also=(422,)),  # 422: a field names an unknown place
    "measure_not_found": Code(404, "未找到该管控措施。", "No such measure."),
    "sample_not_found": Code(404, "未找到该样本（条码或试管编号）。", "No such sample (barcode or tube)."),
    "gathering_not_found": Code(404, "未找到该聚集性活动。", "No such gathering."),
    "region_not_found": Code(404, "未找到该地区，或该地区不在您的管辖范围内。", "No such region."),
    "lead_not_found": Code(404, "未找到该排查线索，或该线索不在您的管辖范围内。", "No such lead."),
    "roster_not_found": Code(404, "该地区尚未设置包保责任名单。", "This region has no roster."),
    "unit_not_found": Code(404, "该地区不是日报告单位（尚未设置包保责任名单）。", "This region is not a reporting unit (it has no roster)."),
    "responsible_staff_not_found": Code(
        404, "该人员未处于管控之中，没有包保责任人。", "This person has no responsible staff (they are not under control)."
    ),
    # 405, 406
    "method_not_allowed": Code(405, "不支持该请求方法。", "Method not allowed."),
    "not_acceptable": Code(406, "无法提供所要求的格式。", "Not acceptable."),
    # 409
    "conflict": Code(409, "请求与当前状态冲突。", "The request conflicts with the current state."),
    "person_exists": Code(409, "该身份证号已登记，请勿重复登记。", "A person with this ID number is registered."),
    "user_exists": Code(409, "该用户名已被使用。", "That username is taken."),
    "report_exists": Code(409, "该单位当日已提交报告。", "This unit has reported for this day."),
    "lead_closed": Code(409, "该排查线索已办结，不能再次处置或指派。", "The lead is already closed."),
    "invalid_transition": Code(409, "当前状态下不能办理此项操作。", "This step is not possible in the current state."),
    "gathering_closed": Code(409, "该活动已结束、已取消或未获批准，不能再登记参加人员。", "The gathering is closed: no more check-ins."),
    "result_conflict": Code(409, "该样本已有不同的检测结果；如需更正，请注明为更正并填写原因。", "A different result is on file; send a correction with its reason."),
    "barcode_conflict": Code(409, "该条码已用于其他人员或其他样本。", "This barcode belongs to another sample."),
    "tube_already_tested": Code(409, "该试管已出检测结果，不能再加入样本。", "This tube has a result; no more samples go into it."),
    "measure_not_active": Code(409, "只能对正在执行的管控措施登记随访；发热复测不受此限。",
                               "Follow-ups are recorded on an active measure (a fever re-check at any time)."),
    "not_an_alert": Code(409, "只有紧急预警需要确认。", "Only urgent alerts are acknowledged."),
    "wechat_unbound": Code(409, "该微信尚未绑定居民身份，请先用手机验证码登录后绑定。", "This WeChat account is not bound to a resident."),
    "wechat_bound": Code(409, "该微信已绑定其他居民，或您已绑定其他微信。", "This WeChat account or this resident is bound already."),
    # 413, 415
    "payload_too_large": Code(413, "请求内容超过了允许的大小。", "The body is too large."),
    "unsupported_media_type": Code(
        415, "不支持该内容类型，请使用 application/x-ndjson 或 JSON 数组。", "Send application/x-ndjson or a JSON array."
    ),
    # 422
    "validation_error": Code(422, "请求内容有误，请按各字段的提示修改后重新提交。", "The request has invalid fields."),
    "invalid_body": Code(422, "JSON 请求体应为记录组成的数组。", "A JSON body must be an array of records."),
    "id_number_invalid": Code(422, "身份证号码校验未通过，请核对后重新填写。", "The ID number fails the GB 11643 check."),
    "phone_invalid": Code(422, "手机号码不是有效的中国大陆手机号码。", "The phone is not a mainland mobile number."),
    "region_code_invalid": Code(422, "地区代码不是有效的行政区划代码。", "The region code is not a valid administrative code."),
    "dates_reversed": Code(422, "最后出现日期早于首次出现日期。", "last_seen is before first_seen."),
    "chain_in_past": Code(422, "按此日期计算，管控措施均已期满，无需指派。", "The whole chain from this date lies in the past."),
    "no_case": Code(409, "该人员没有未出院的病例记录。", "This person has no open case."),
    "case_exists": Code(409, "该人员已有未出院的病例记录，请先登记出院。", "This person already has an open case; discharge it first."),
    "rule_unknown": Code(422, "现行防控政策中没有可人工指派的该项规则。", "The active policy has no such rule an official may assign by hand."),
    "counts_required": Code(422, "非零报告须填写各项数据。", "A report that is not a zero report needs its counts."),
    "duty_unknown": Code(422, "包保职责名称有误。", "Unknown duties."),
    "policy_invalid": Code(422, "防控政策文件格式或内容有误。", "The policy document is not valid."),
    "gathering_prohibited": Code(422, "按现行防控政策，此类活动暂停举办。", "This gathering is prohibited by the policy."),
    "prevention_plan_required": Code(
        422, "该规模的活动须提交疫情防控方案和应急处置预案。", "A gathering of this size needs a prevention plan and an emergency plan."
    ),
    "gathering_ended": Code(422, "该活动已经结束，不能再报备。", "This gathering has already ended; it can no longer be filed."),
    "collected_at_in_future": Code(422, "采样时间晚于当前时间，请核对。", "collected_at is in the future."),
    "tested_before_collected": Code(422, "检测时间早于采样时间，请核对。", "tested_at is before the sample was collected."),
    "pool_too_large": Code(422, "混采试管内的样本数量超过上限。", "The pooled tube holds too many samples."),
    "region_parent_unknown": Code(422, "上级地区尚未建立，请先建立上级地区。", "The place that holds this one is not known: name it first."),
    "name_invalid": Code(422, "名称不能为空，且不能含控制字符。", "The name is empty or holds control characters."),
    "name_too_long": Code(422, "名称过长。", "The name is too long."),
    "csv_header_invalid": Code(422, "首行应为表头，包含 code 和 name 两列。", "The first line must be the header, with columns code and name."),
    "columns_missing": Code(
        422, "表头缺少必需的列，请按模板补齐（姓名、身份证号、手机号、所在地、原因）后重新导入。",
        "The header row lacks required columns (name, id_number, phone, region_code, reason).",
    ),
    "xlsx_invalid": Code(422, "上传的文件不是有效的 Excel（XLSX）工作簿。", "The body is not an XLSX workbook."),
    "assignee_out_of_region": Code(
        422, "指派对象须为该线索所在地的在岗网格员或防控干部。",
        "The assignee must be an active grid worker or official whose places hold the lead's place.",
    ),
    "outcome_unknown": Code(
        422, "处置结果应为：已登记、联系不上、已离开本地、查无此人、已由他处处置之一。", "The outcome is not one of the listed outcomes."
    ),
    "person_id_required": Code(422, "处置结果为“已登记”时，须注明所登记人员（person_id）。", "The outcome registered names the person registered (person_id)."),
    "role_invalid": Code(422, "角色不正确。", "The role is not valid."),
    "regions_required": Code(422, "防控干部和网格员至少须分配一个地区。", "Officials and grid workers need at least one region."),
    # 429
    "rate_limited": Code(429, "请求过于频繁，请稍后再试。", "Too many requests; slow down."),
    "wechat_rate_limited": Code(429, "登录过于频繁，请一分钟后再试。", "Too many sign-ins; try again in a minute."),
    "too_many_attempts": Code(429, "尝试次数过多，请稍后再试。", "Too many attempts; try again later."),
    # 5xx: not a client's fault, but read by a person all the same
    "internal_error": Code(500, "服务器内部错误，已记录，请稍后再试。", "An unexpected error occurred; it has been logged."),
    "upstream_error": Code(502, "后端服务处理出错，请稍后再试。", "A service failed."),
    "upstream_unreachable": Code(502, "后端服务暂时无法连接，请稍后再试。", "A service cannot be reached."),
    "database_unavailable": Code(503, "数据库暂时无法连接，请稍后重试。", "The database cannot be reached; try again shortly."),
    "unavailable": Code(503, "服务暂不可用，请稍后再试。", "Unavailable."),
    "upstream_unavailable": Code(503, "后端服务暂不可用，请稍后再试。", "A service is failing; try again shortly."),
    "wechat_unavailable": Code(503, "微信登录服务暂时不可用，请稍后再试。", "WeChat sign-in is unavailable; try again later."),
    "upstream_timeout": Code(504, "后端服务响应超时，请稍后再试。", "A service did not answer in time."),
}

# The Chinese of sentences the code raises in English (details, field messages, validators' texts).
SENTENCES: dict[str, str] = {
    "A bearer token is required.": "请先登录：需要有效的访问令牌。",
    "A code was sent a moment ago.": "验证码刚刚已发送，请稍后再试。",
    "A gathering ends after it starts.": "活动结束时间应晚于开始时间。",
    "A JSON array is limited to 32 MB; send NDJSON.": "JSON 数组不能超过 32 MB，请改用 NDJSON 格式提交。",
    "No person with this ID number.": "未找到该身份证号码对应的人员。",
    "No such broadcast.": "未找到该广播通知。",
    "No such notification.": "未找到该通知。",
    "No such route.": "请求的接口不存在。",
    "Only an official of the venue's region decides on a gathering.": "活动须由举办地所属地区的防控干部审批。",
    "Only the organiser or an official cancels a gathering.": "只有活动主办人或防控干部可以取消活动。",
    "Only the organiser or staff check attendees in.": "只有活动主办人或工作人员可以登记参加人员。",
    "The gathering's size is not valid.": "活动规模填写有误。",
    "The measure would end in the past.": "该管控措施的结束日期已过。",
    "The policy document is too large.": "防控政策文件过大。",
    "The token names an unknown role.": "访问令牌中的角色无效，请重新登录。",
    "The venue is outside your regions.": "活动举办地不在您的管辖范围内。",
    "Too many codes for this phone this hour.": "该手机号码本小时内获取验证码次数过多，请稍后再试。",
    "You may name places inside your own regions only.": "您只能为本人管辖范围内的下级地区命名。",
    "No place has this code: name it first (PUT /regions/{code}).": "没有该代码的地区，请先建立该地区。",
    "Only staff and gate devices verify passes.": "只有工作人员和核验设备可以核验通行证。",
    "Too many requests from this address.": "来自该地址的请求过于频繁，请稍后再试。",
    "Too many wrong codes; ask for a new one.": "验证码错误次数过多，请重新获取验证码。",
    "This person has no open case to discharge.": "该人员没有未出院的病例记录，无法登记出院。",
    "This person already has an open case; discharge it first.": "该人员已有未出院的病例记录，请先登记出院。",
    "The whole chain from this exposure date lies in the past.": "按此暴露日期计算，各项管控措施均已期满。",
    "organizer.phone is not a mainland mobile number.": "主办人手机号码不是有效的中国大陆手机号码。",
    "phone is not a mainland mobile number.": "手机号码不是有效的中国大陆手机号码。",
    "region_code must be a 6-digit administrative code.": "地区代码应为 6 位行政区划代码。",
    "This gathering has already ended; it can no longer be filed.": "该活动已经结束，不能再报备。",
    # batch lines (travel push, sample and result uploads, place imports)
    "the line is not valid JSON": "该行不是有效的 JSON。",
    "a line must be a JSON object": "每行应为一个 JSON 对象。",
    "a record needs a phone or an id_number": "记录须含手机号码或身份证号码。",
    "phone is not a mainland mobile number": "手机号码不是有效的中国大陆手机号码。",
    "id_number fails the GB 11643 check": "身份证号码校验未通过。",
    "record_id is required (a string of at most 128 characters)": "缺少 record_id（不超过 128 个字符的文本）。",
    "last_seen is before first_seen": "最后出现日期早于首次出现日期。",
    "region_code must be a region code of 6, 9, 12 or 15 digits": "地区代码应为 6、9、12 或 15 位数字。",
    "code must be a region code of 6, 9, 12 or 15 digits": "地区代码应为 6、9、12 或 15 位数字。",
    "the line has fewer columns than the header": "该行的列数少于表头。",
    "the first line must be the header, with columns code and name": "首行应为表头，包含 code 和 name 两列。",
    "the line is not UTF-8 (save the file as UTF-8, not GBK)": "该行不是 UTF-8 编码（请将文件另存为 UTF-8，而非 GBK）。",
    "name contains control characters": "名称含有控制字符。",
    "The request holds a NUL character (U+0000), which cannot be stored.": "请求中含有空字符（U+0000），无法保存，请删除后重新提交。",
    "a line needs an id_number or a phone": "每行须填写身份证号码或手机号码。",
    "current_region_code must be a region code of 6, 9, 12 or 15 digits": "现所在地代码应为 6、9、12 或 15 位数字。",
    "reason is required": "须填写协查原因。",
    "region_code is required (your regions have no one place)": "须填写所在地（您管辖多个地区，无法确定线索归属）。",
    "the place is outside your regions": "所在地不在您的管辖范围内。",
    "No such lead.": "未找到该排查线索，或该线索不在您的管辖范围内。",
    "The lead is already closed.": "该排查线索已办结，不能再次处置或指派。",
    "The body is not an XLSX workbook.": "上传的文件不是有效的 Excel（XLSX）工作簿。",
    "The assignee must be an active grid worker or official whose places hold the lead's place.":
        "指派对象须为该线索所在地的在岗网格员或防控干部。",
    "The outcome registered names the person registered (person_id).": "处置结果为“已登记”时，须注明所登记人员（person_id）。",
    "name must be a non-empty text": "名称不能为空。",
    # field messages and validators' texts
    "invalid": "填写有误。",
    "in the past": "时间已过。",
    "give either id_number or phone": "身份证号码和手机号码须填写其中一项，且只填一项。",
    "give either tube_id or barcode": "试管编号和条码须填写其中一项，且只填一项。",
    "a correction needs a reason": "更正结果须填写原因。",
    "not a 6-digit region code": "应为 6 位行政区划代码。",
    "must be positive": "应为正数。",
    "only a banquet has tables": "只有宴席填写桌数。",
    "a banquet states its number of tables": "宴席须填写桌数。",
    "must be after starts_at": "应晚于开始时间。",
    "required": "此项为必填项。",
}

# Sentences with a value in them: the English pattern and its Chinese ({0}, {1}: the groups).
PATTERNS: list[tuple[re.Pattern, str]] = [
    (re.compile(p), zh)
    for p, zh in (
        (r"Gatherings of (\d+) or more people are prohibited \((\d+) expected\)\.",
         "按现行防控政策，{0} 人及以上的聚集性活动一律取消（本次预计 {1} 人）。"),
        (r"Gatherings of kind '(\w+)' are suspended by the current policy\.", "按现行防控政策，此类活动（{0}）暂停举办。"),
        (r"Gatherings of (\d+) or more need a prevention plan and an emergency plan; missing: (.+)\.",
         "{0} 人及以上的活动须提交疫情防控方案和应急处置预案，尚缺：{1}。"),
        (r"The gathering is (\w+): no more check-ins\.", "该活动当前状态为 {0}，不能再登记参加人员。"),
        (r"This action is for: (.+)\.", "此项操作仅限以下角色办理：{0}。"),
        (r"A (\w+) measure cannot be released\.", "状态为 {0} 的管控措施不能解除。"),
        (r"Unknown duties: (.+)\.", "包保职责名称有误：{0}。"),
        (r"The active policy has no rule an official may assign by hand named '(.+)'; these are: (.*)\.",
         "现行防控政策中没有可由干部人工指派的“{0}”规则；可指派的规则为：{1}。"),
        (r"Not region codes: (.+)\.", "以下不是有效的地区代码：{0}。"),
        (r"The header row lacks: (.+)\.", "表头缺少以下列：{0}。"),
        (r"The upload is larger than (\d+) MB\.", "上传文件超过 {0} MB。"),
        (r"The workbook cannot be read after row (\d+) \(incomplete or damaged\); the rows before it may already be imported\.",
         "工作簿第 {0} 行之后的内容无法读取（文件不完整或已损坏），此前的行可能已经导入；请修复文件后重新导入。"),
        (r"outcome must be one of: (.+)\.", "处置结果应为以下之一：{0}。"),
        (r"role must be one of (.+)\.", "角色应为以下之一：{0}。"),
        (r"(\w+) must be a date or a time with offset\.", "{0} 应为日期或带时区的时间。"),
        (r"The policy document is not valid: (.+)", "防控政策文件有误：{0}"),
        (r"This API key does not open this route \(scope (\w+)\)\.", "该 API 密钥无权访问此接口（需要 {0} 权限）。"),
        (r"(\w+) must be a date \(YYYY-MM-DD\) or a time with offset", "{0} 应为日期（YYYY-MM-DD）或带时区的时间。"),
        (r"(\w+) is not a date: (.+)", "{0} 不是有效的日期：{1}。"),
        (r"name is longer than (\d+) characters", "名称不能超过 {0} 个字符。"),
        (r"The body exceeds (\d+) bytes for this route\.", "请求内容超过本接口的上限（{0} 字节）。"),
        (r"(\w+) is failing; try again shortly\.", "后端服务 {0} 暂不可用，请稍后再试。"),
        (r"(\w+) cannot be reached\.", "后端服务 {0} 暂时无法连接，请稍后再试。"),
        (r"(\w+) did not answer in (\d+) s\.", "后端服务 {0} 在 {1} 秒内未响应，请稍后再试。"),
        (r"(\w+) failed: (\w+)\.", "后端服务 {0} 处理出错，请稍后再试。"),
    )
]


def translate(english: str) -> str | None:
    """The Chinese of a sentence the code raises, if known."""
    if english in SENTENCES:
        return SENTENCES[english]
    for pattern, zh in PATTERNS:
        m = pattern.fullmatch(english)
        if m:
            return zh.format(*m.groups())
    return None


_BILINGUAL = re.compile(r"^(.*[\u4e00-\u9fff][^（]*)（([^（）]*[A-Za-z][^（）]*)）。?$", re.S)


def localize(text: str, lang: str) -> str | None:
    """A message raised as "中文（english）" in one language; a Chinese one as is in Chinese;
    an English one as is in English, or its known Chinese. None when no text in ``lang`` is known."""
    both = _BILINGUAL.match(text)
    if both:
        zh, en = both.group(1).rstrip("。 "), both.group(2).strip()
        return zh + "。" if lang == ZH else en[:1].upper() + en[1:].rstrip(".") + "."
    if _CJK.search(text):
        return text if lang == ZH else None
    return text if lang == EN else translate(text)


def detail(code: str, english: str, lang: str) -> str:
    """The detail of a problem in ``lang``: the raised English as is, or its Chinese."""
    known = CODES.get(code)
    if _CJK.search(english):  # raised in Chinese (or both): the other language from the catalogue
        return localize(english, lang) or (known.en if known else english)
    if lang == EN:
        return english
    translated = translate(english)
    if translated is not None:
        return translated
    return known.zh if known else english


# pydantic's error types -> the Chinese a careful official writes; {names} come from the error's ctx.
_FIELD_ZH: dict[str, str] = {
    "missing": "此项为必填项。",
    "extra_forbidden": "不接受此字段。",
    "string_type": "应为文本。",
    "string_too_short": "长度不能少于 {min_length} 个字符。",
    "string_too_long": "长度不能超过 {max_length} 个字符。",
    "string_pattern_mismatch": "格式不正确。",
    "string_unicode": "应为有效的 UTF-8 文本。",
    "too_short": "至少应有 {min_length} 项。",
    "too_long": "最多只能有 {max_length} 项。",
    "int_type": "应为整数。",
    "int_parsing": "应为整数。",
    "int_from_float": "应为整数，不能带小数。",
    "float_type": "应为数字。",
    "float_parsing": "应为数字。",
    "decimal_type": "应为数字。",
    "decimal_parsing": "应为数字。",
    "finite_number": "应为有限的数值。",
    "bool_type": "应为布尔值（true 或 false）。",
    "bool_parsing": "应为布尔值（true 或 false）。",
    "greater_than": "应大于 {gt}。",
    "greater_than_equal": "不能小于 {ge}。",
    "less_than": "应小于 {lt}。",
    "less_than_equal": "不能大于 {le}。",
    "multiple_of": "应为 {multiple_of} 的整数倍。",
    "literal_error": "取值应为以下之一：{expected}。",
    "enum": "取值应为以下之一：{expected}。",
    "date_type": "应为日期，格式为 YYYY-MM-DD。",
    "date_parsing": "日期格式不正确，应为 YYYY-MM-DD。",
    "date_from_datetime_parsing": "日期格式不正确，应为 YYYY-MM-DD。",
    "date_from_datetime_inexact": "应为日期，不能带时间。",
    "date_past": "日期应早于今天。",
    "date_future": "日期应晚于今天。",
    "datetime_type": "应为时间，格式如 2022-01-01T08:00:00+08:00。",
    "datetime_parsing": "时间格式不正确，应如 2022-01-01T08:00:00+08:00。",
    "datetime_from_date_parsing": "时间格式不正确，应如 2022-01-01T08:00:00+08:00。",
    "datetime_past": "时间应早于当前时间。",
    "datetime_future": "时间应晚于当前时间。",
    "timezone_aware": "时间须带时区，如 +08:00。",
    "timezone_naive": "时间不能带时区。",
    "time_type": "应为时刻，格式为 HH:MM。",
    "time_parsing": "时刻格式不正确，应为 HH:MM。",
    "time_delta_type": "应为时长。",
    "time_delta_parsing": "时长格式不正确。",
    "uuid_type": "应为有效的 UUID。",
    "uuid_parsing": "应为有效的 UUID。",
    "url_type": "应为网址。",
    "url_parsing": "网址格式不正确。",
    "url_scheme": "网址协议不正确。",
    "list_type": "应为数组。",
    "tuple_type": "应为数组。",
    "set_type": "应为数组。",
    "dict_type": "应为 JSON 对象。",
    "model_type": "应为 JSON 对象。",
    "model_attributes_type": "应为 JSON 对象。",
    "dataclass_type": "应为 JSON 对象。",
    "none_required": "此项应为空。",
    "frozen_field": "此项不能修改。",
    "union_tag_invalid": "类型取值不正确。",
    "union_tag_not_found": "缺少类型字段。",
    "is_instance_of": "类型不正确。",
    "bytes_type": "应为文本。",
    "bytes_too_short": "长度不能少于 {min_length} 个字节。",
    "bytes_too_long": "长度不能超过 {max_length} 个字节。",
    "json_invalid": "不是有效的 JSON。",
    "json_type": "应为 JSON 文本。",
    "value_error": "取值不符合要求。",
    "assertion_error": "取值不符合要求。",
}
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")


def _expected(text: str) -> str:
    """pydantic's "'a', 'b' or 'c'" as "a、b、c"."""
    found = _QUOTED.findall(text)
    return "、".join(found) if found else text


def _number(value):
    """43.0 as 43: a limit reads as a person writes it."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def field_message(error: dict, lang: str) -> str:
    """One pydantic error's message in ``lang`` (the Chinese of its type, with its limits)."""
    msg = str(error.get("msg", "invalid"))
    if _CJK.search(msg):  # a validator of ours wrote it, in Chinese or in both languages
        return localize(msg, lang) or msg
    if lang == EN:
        return msg
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind in ("value_error", "assertion_error"):
        translated = translate(str(ctx.get("error", "")))
        if translated is not None:
            return translated
    template = _FIELD_ZH.get(kind)
    if template is None:
        return "填写有误。"
    values = {k: (_expected(str(v)) if k == "expected" else _number(v)) for k, v in ctx.items()}
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        return template.split("{")[0].rstrip("：:，, ") + "。" if "{" in template else template
