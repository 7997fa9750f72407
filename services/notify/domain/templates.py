"""Every message the service sends, as data: Chinese first, English beside it.

A template's fields are filled from the facts a trigger gathers (domain/facts.py);
``EXAMPLES`` holds example facts for each kind, and the unit tests render every
template with them, so a template cannot name a field nobody fills.
"""

from __future__ import annotations

LANGUAGES = ("zh", "en")

TEMPLATES: dict[str, dict[str, dict[str, str]]] = {
    # --- residents ---
    "result_negative": {
        "zh": {"title": "核酸检测结果：阴性", "body": "您于{collected_on}采集的核酸样本（条码{barcode}）检测结果为阴性。"},
        "en": {"title": "Test result: negative", "body": "Your sample collected on {collected_on} (barcode {barcode}) tested negative."},
    },
    # Until the CDC review (复核) the resident is told of an abnormal result, not of a positive from the lab.
    "result_positive": {
        "zh": {"title": "核酸检测结果异常", "body": "您于{collected_on}采集的核酸样本（条码{barcode}）检测结果异常。请原地等待并配合工作人员，不要外出，工作人员将尽快与您联系。"},
        "en": {"title": "Test result abnormal", "body": "Your sample collected on {collected_on} (barcode {barcode}) gave an abnormal result. Stay where you are and follow the staff's instructions; they will contact you shortly."},
    },
    "result_pool_positive": {
        "zh": {"title": "混采结果异常，请单管复检", "body": "您于{collected_on}参加的混采检测结果异常。请居家等待，工作人员将上门为您单管复检，请在{retest_due_by}前完成。"},
        "en": {"title": "Pooled test positive: retest needed", "body": "The pooled test you took on {collected_on} was positive. Stay home: staff will come to take a single-tube retest, to be done before {retest_due_by}."},
    },
    "result_invalid": {
        "zh": {"title": "核酸检测结果无效", "body": "您于{collected_on}采集的核酸样本（条码{barcode}）结果无效，请尽快重新采样。"},
        "en": {"title": "Test result invalid", "body": "Your sample collected on {collected_on} (barcode {barcode}) gave no valid result. Please take a new sample soon."},
    },
    "healthcode_changed": {
        "zh": {"title": "健康码变为{color}", "body": "您的健康码由{previous}变为{color}，原因：{reasons}。"},
        "en": {"title": "Health code now {color}", "body": "Your health code changed from {previous} to {color}. Reasons: {reasons}."},
    },
    "measure_assigned": {
        "zh": {"title": "管控措施：{measure}", "body": "因{rule}，您需自{starts_on}起{measure}，至{ends_on}止。{tests}"},
        "en": {"title": "Control measure: {measure}", "body": "Because of {rule}, you are under {measure} from {starts_on} until {ends_on}. {tests}"},
    },
    "test_due": {
        "zh": {"title": "今日需做核酸检测", "body": "您今天（{due_on}）需进行核酸检测。{where}"},
        "en": {"title": "Test due today", "body": "You are due for a test today ({due_on}). {where}"},
    },
    "gathering_approved": {
        "zh": {"title": "活动报备已批准：{title}", "body": "您报备的活动“{title}”（{starts_at}）已获批准，请落实防控方案。"},
        "en": {"title": "Gathering approved: {title}", "body": "Your gathering \"{title}\" ({starts_at}) is approved. Carry out its prevention plan."},
    },
    "gathering_rejected": {
        "zh": {"title": "活动报备未获批准：{title}", "body": "您报备的活动“{title}”（{starts_at}）未获批准。原因：{reason}。"},
        "en": {"title": "Gathering not approved: {title}", "body": "Your gathering \"{title}\" ({starts_at}) was not approved. Reason: {reason}."},
    },
    "gathering_cancelled": {
        "zh": {"title": "活动已取消：{title}", "body": "活动“{title}”（{starts_at}）已取消。{reason}"},
        "en": {"title": "Gathering cancelled: {title}", "body": "The gathering \"{title}\" ({starts_at}) is cancelled. {reason}"},
    },
    "exposure": {
        "zh": {"title": "时空伴随提醒", "body": "您于{gathering_on}参加的活动“{title}”中有人核酸检测结果异常。请留在家中，不要外出，工作人员将与您联系并安排核酸检测。"},
        "en": {"title": "Exposure notice", "body": "Someone at \"{title}\", which you attended on {gathering_on}, had an abnormal test result. Stay at home; staff will contact you and arrange your test."},
    },
    "login_code": {
        "zh": {"title": "登录验证码", "body": "您的登录验证码为{code}，{expires_at}前有效。请勿告诉他人。"},
        "en": {"title": "Sign-in code", "body": "Your sign-in code is {code}, valid until {expires_at}. Do not share it."},
    },
    # --- staff ---
    "positive_alert": {
        "zh": {"title": "【紧急】{place}发现核酸阳性", "body": "辖区{place}出现单管阳性（{person}，采样时间{collected_at}，{lab}）。请在{ack_minutes}分钟内确认并电话上报指挥部。"},
        "en": {"title": "[Urgent] Positive in {place}", "body": "A single-tube positive in {place} ({person}, collected {collected_at}, {lab}). Acknowledge within {ack_minutes} minutes and phone the command."},
    },
    "alert_escalated": {
        "zh": {"title": "【紧急·上报】{place}阳性未确认", "body": "辖区{place}的阳性警报（{person}，采样时间{collected_at}）{ack_minutes}分钟内未获确认，现上报至您（第{level}级）。"},
        "en": {"title": "[Urgent, escalated] Positive in {place} not acknowledged", "body": "The positive alert in {place} ({person}, collected {collected_at}) was not acknowledged within {ack_minutes} minutes and is escalated to you (level {level})."},
    },
    "lead_overdue": {
        "zh": {"title": "【紧急】排查线索逾期未办结：{place}", "body": "大数据排查线索（{person}，{reasons}）应于{due_at}前排查到位，至今未办结（所在地{place}，承办人{assignee}）。请在{ack_minutes}分钟内确认，并督促当日排查到位。"},
        "en": {"title": "[Urgent] Lead overdue in {place}", "body": "The big-data lead ({person}, {reasons}) was due by {due_at} and is still open (place {place}, assignee {assignee}). Acknowledge within {ack_minutes} minutes and see that the person is found today."},
    },
    "lead_overdue_escalated": {
        "zh": {"title": "【紧急·上报】排查线索逾期未确认：{place}", "body": "所在地{place}的逾期排查线索（{person}，应于{due_at}前排查到位）警报{ack_minutes}分钟内未获确认，现上报至您（第{level}级）。"},
        "en": {"title": "[Urgent, escalated] Overdue lead in {place} not acknowledged", "body": "The overdue lead in {place} ({person}, due by {due_at}) was not acknowledged within {ack_minutes} minutes and is escalated to you (level {level})."},
    },
    "pool_positive_alert": {
        "zh": {"title": "【提醒】{place}混采结果异常待复检", "body": "{person}（{place}）{collected_at}采集的混采样本检测结果异常，请组织上门单管复检，于{retest_due_by}前完成，复检前落实原地管控。"},
        "en": {"title": "[Attention] Pooled test positive in {place}: retest needed", "body": "The pooled sample of {person} ({place}) collected {collected_at} was positive. Arrange a single-tube retest at their door before {retest_due_by} and keep them where they are until then."},
    },
    "retest_overdue": {
        "zh": {"title": "【上报】{place}混采异常人员逾期未复检", "body": "{person}（{place}）{collected_at}采集的混采样本结果异常，应于{retest_due_by}前完成单管复检，现已逾期，请立即组织上门复检。"},
        "en": {"title": "[Escalated] Retest overdue in {place}", "body": "{person} ({place}), pooled sample collected {collected_at} positive, was due for a single-tube retest by {retest_due_by} and has not taken it. Arrange it at their door now."},
    },
    "staff_measure_assigned": {
        "zh": {"title": "辖区新增管控人员", "body": "{person}（{place}）因{rule}，自{starts_on}起{measure}，至{ends_on}止。请落实“五包一”管控。"},
        "en": {"title": "Person put under control in your region", "body": "{person} ({place}) is under {measure} from {starts_on} until {ends_on} because of {rule}. Arrange the five responsible staff."},
    },
    "test_overdue": {
        "zh": {"title": "核酸检测逾期", "body": "{person}（{place}）应于{due_on}进行的核酸检测已逾期，请督促落实。"},
        "en": {"title": "Test overdue", "body": "{person} ({place}) missed the test due on {due_on}. Please follow up."},
    },
    # --- staff: grid accountability (五包一, follow-up duties, daily reports) ---
    "staff_assigned": {
        "zh": {"title": "“五包一”责任分工", "body": "您被指定为{person}（{place}）的{duty}，请负责落实其管控措施。"},
        "en": {"title": "You are a responsible staff member", "body": "You are responsible for {person} ({place}) as {duty}. Carry out their control measure."},
    },
    "staff_missing": {
        "zh": {"title": "【提醒】{place}“五包一”人员不全", "body": "{person}（{place}）的责任人员缺少：{duties}。请尽快在花名册或其责任人员中补齐。"},
        "en": {"title": "[Attention] Responsible staff incomplete in {place}", "body": "{person} ({place}) has no {duties}. Complete the roster or their responsible staff soon."},
    },
    "followup_missed": {
        "zh": {"title": "随访未完成：{person}", "body": "{person}（{place}）{on}{slot}的随访应在{due_by}前完成，现已错过，请尽快补做。"},
        "en": {"title": "Follow-up missed: {person}", "body": "The {slot} follow-up of {person} ({place}) on {on} was due by {due_by} and was missed. Do it as soon as you can."},
    },
    "followup_escalated": {
        "zh": {"title": "【上报】随访逾期未做：{person}", "body": "{person}（{place}）{on}{slot}的随访（应于{due_by}前完成）逾期仍未完成，请督促网格员落实。"},
        "en": {"title": "[Escalated] Follow-up still not done: {person}", "body": "The {slot} follow-up of {person} ({place}) on {on}, due by {due_by}, is still not done. Please see that the grid worker does it."},
    },
    "report_reminder": {
        "zh": {"title": "请报送{on}日报", "body": "{place}尚未报送{on}的防控日报，截止时间{deadline_at}（北京时间），请按时报送（无情况请零报告）。"},
        "en": {"title": "Daily report for {on} due", "body": "{place} has not sent its daily report for {on}. The deadline is {deadline_at} (China time); send it in time (a zero report if nothing happened)."},
    },
    "report_missing": {
        "zh": {"title": "日报未报：{place}", "body": "报送单位{place}未在{deadline_at}（北京时间）前报送{on}的防控日报，请督促。"},
        "en": {"title": "Daily report missing: {place}", "body": "The reporting unit {place} did not send its daily report for {on} by {deadline_at} (China time). Please follow up."},
    },
    # --- staff: cases and release ---
    "case_confirmed": {
        "zh": {"title": "【病例】{person}经复核为{classification}", "body": "{person}（{place}）经疾控机构复核为{classification}（复核时间{reviewed_at}），{hospital}。请按规定落实转运、流调和密接排查。"},
        "en": {"title": "[Case] {person}: {classification}", "body": "After the CDC review ({reviewed_at}), {person} ({place}) is a {classification}; {hospital}. Arrange the transfer, the tracing and the search for close contacts."},
    },
    "case_discharged": {
        "zh": {"title": "病例出院：{person}", "body": "{person}（{place}）已于{discharged_on}出院，自出院之日起按出院病例落实集中隔离和健康监测，请做好接收和管控。"},
        "en": {"title": "Case discharged: {person}", "body": "{person} ({place}) was discharged on {discharged_on}; the discharged-case quarantine and monitoring run from that day. Arrange the handover and control."},
    },
    "case_withdrawn": {
        "zh": {"title": "病例撤销：{person}", "body": "检测机构已更正{person}（{place}）的阳性结果，原病例记录（{classification}）不再成立，请据此调整管控。"},
        "en": {"title": "Case withdrawn: {person}", "body": "The lab corrected the positive result of {person} ({place}); the case on file ({classification}) no longer stands. Adjust the control measures."},
    },
    "release_blocked": {
        "zh": {"title": "暂不能解除{measure}：{person}", "body": "{person}（{place}）的{measure}已于{ends_on}期满，但尚无解除所需的核酸检测阴性结果，暂不解除，请尽快安排核酸检测。"},
        "en": {"title": "{measure} not yet released: {person}", "body": "The {measure} of {person} ({place}) ended on {ends_on}, but the negative test its release needs is missing; it stays in force. Arrange the test soon."},
    },
    # --- anyone: an official's own words ---
    "broadcast": {
        "zh": {"title": "{title}", "body": "{body}"},
        "en": {"title": "{title}", "body": "{body}"},
    },
}

# How a folded notification says it stands for several (the collapse window).
COLLAPSED = {
    "zh": "（{count}条同类通知，以上为最新一条）",
    "en": " ({count} similar notices; the latest is shown)",
}

# Words for the codes facts carry.
WORDS: dict[str, dict[str, dict[str, str]]] = {
    "color": {
        "zh": {"green": "绿码", "yellow": "黄码", "red": "红码", "none": "无"},
        "en": {"green": "green", "yellow": "yellow", "red": "red", "none": "none"},
    },
    "measure": {
        "zh": {
            "centralized_quarantine": "集中隔离",
            "home_quarantine": "居家隔离",
            "home_health_monitoring": "居家健康监测",
            "daily_health_monitoring": "日常健康监测",
        },
        "en": {
            "centralized_quarantine": "centralized quarantine",
            "home_quarantine": "home quarantine",
            "home_health_monitoring": "home health monitoring",
            "daily_health_monitoring": "daily health monitoring",
        },
    },
    "duty": {
        "zh": {"township_cadre": "包保乡镇（街道）干部", "village_cadre": "包保村（社区）干部", "doctor": "包保医生",
               "police": "包保民警", "grid_worker": "包保网格员"},
        "en": {"township_cadre": "township cadre", "village_cadre": "village cadre", "doctor": "doctor",
               "police": "police officer", "grid_worker": "grid worker"},
    },
    "classification": {
        "zh": {"confirmed": "确诊病例", "asymptomatic": "无症状感染者"},
        "en": {"confirmed": "confirmed case", "asymptomatic": "asymptomatic infection"},
    },
    "hospital": {
        "zh": {"named": "已转运至{hospital}", "none": "定点医院待定"},
        "en": {"named": "transferred to {hospital}", "none": "designated hospital to be named"},
    },
    "slot": {
        "zh": {"morning": "上午", "evening": "晚间"},
        "en": {"morning": "morning", "evening": "evening"},
    },
    "separator": {"zh": {"list": "、", "none": "无"}, "en": {"list": ", ", "none": "none"}},
    # A measure set by hand names no rule of the policy: it is said so, never by its key.
    "rule": {"zh": {"manual": "防控工作需要"}, "en": {"manual": "a decision of the control staff"}},
    # Where a resident is sampled: at the door under quarantine, else at a sampling site.
    "where": {
        "zh": {"door": "工作人员将上门采样，请在家等候，不要外出。", "site": "请就近前往采样点，采样时请佩戴口罩、保持间距。"},
        "en": {"door": "Staff will come to take your sample: wait at home and do not go out.",
               "site": "Please go to a nearby sampling site, wearing a mask and keeping your distance."},
    },
    "tests": {
        "zh": {"some": "请于{days}进行核酸检测。", "none": ""},
        "en": {"some": "Tests are due on {days}.", "none": ""},
    },
}

# Example facts per kind, as the triggers fill them (language-specific words already chosen).
EXAMPLES: dict[str, dict[str, object]] = {
    "result_negative": {"collected_on": "2022-03-01", "barcode": "B0001"},
    "result_positive": {"collected_on": "2022-03-01", "barcode": "B0001"},
    "result_pool_positive": {"collected_on": "3月1日", "retest_due_by": "3月2日8:00"},
    "result_invalid": {"collected_on": "2022-03-01", "barcode": "B0001"},
    "healthcode_changed": {"color": "黄码", "previous": "绿码", "reasons": "中风险地区旅居史，居家健康监测至3月8日"},
    "measure_assigned": {"rule": "中风险地区旅居史", "measure": "居家健康监测", "starts_on": "3月1日", "ends_on": "3月7日", "tests": "请于3月2日、3月7日进行核酸检测。"},
    "test_due": {"due_on": "3月2日", "where": "工作人员将上门采样，请在家等候，不要外出。"},
    "gathering_approved": {"title": "婚宴", "starts_at": "2022-03-05 11:00"},
    "gathering_rejected": {"title": "婚宴", "starts_at": "2022-03-05 11:00", "reason": "规模过大"},
    "gathering_cancelled": {"title": "婚宴", "starts_at": "2022-03-05 11:00", "reason": ""},
    "exposure": {"title": "婚宴", "gathering_on": "2022-03-05"},
    "login_code": {"code": "123456", "expires_at": "10:05"},
    "positive_alert": {"place": "东城街道西门社区", "person": "张*", "collected_at": "2022-03-01 09:00", "lab": "lab-1", "ack_minutes": 30},
    "alert_escalated": {"place": "东城街道西门社区", "person": "张*", "collected_at": "2022-03-01 09:00", "ack_minutes": 30, "level": 1},
    "lead_overdue": {"place": "东城街道西门社区", "person": "138****0000", "reasons": "高风险地区旅居", "due_at": "2022-03-02 09:00", "assignee": "未指派", "ack_minutes": 30},
    "lead_overdue_escalated": {"place": "东城街道西门社区", "person": "138****0000", "due_at": "2022-03-02 09:00", "ack_minutes": 30, "level": 1},
    "pool_positive_alert": {"place": "东城街道西门社区", "person": "张*", "collected_at": "2022-03-01 09:00", "retest_due_by": "2022-03-01 21:00"},
    "retest_overdue": {"place": "东城街道西门社区", "person": "张*", "collected_at": "2022-03-01 09:00", "retest_due_by": "2022-03-01 21:00"},
    "staff_measure_assigned": {"person": "张*", "place": "东城街道西门社区", "rule": "密切接触者", "measure": "集中隔离", "starts_on": "3月1日", "ends_on": "3月14日"},
    "test_overdue": {"person": "张*", "place": "东城街道西门社区", "due_on": "2022-03-02"},
    "staff_assigned": {"person": "张*", "place": "东城街道西门社区", "duty": "包保网格员"},
    "staff_missing": {"person": "张*", "place": "东城街道西门社区", "duties": "包保医生、包保民警"},
    "followup_missed": {"person": "张*", "place": "东城街道西门社区", "on": "2022-03-01", "slot": "晚间", "due_by": "2022-03-01 20:00"},
    "followup_escalated": {"person": "张*", "place": "东城街道西门社区", "on": "2022-03-01", "slot": "晚间", "due_by": "2022-03-01 20:00"},
    "report_reminder": {"place": "东城街道西门社区", "on": "2022-03-01", "deadline_at": "2022-03-01 14:00"},
    "report_missing": {"place": "东城街道西门社区", "on": "2022-03-01", "deadline_at": "2022-03-01 14:00"},
    "broadcast": {"title": "全员核酸", "body": "明日8点起全员核酸检测。"},
    "case_confirmed": {"person": "张*", "place": "东城街道西门社区", "classification": "确诊病例", "reviewed_at": "2022-03-01 10:00", "hospital": "已转运至常州市第三人民医院"},
    "case_discharged": {"person": "张*", "place": "东城街道西门社区", "discharged_on": "2022-03-20"},
    "case_withdrawn": {"person": "张*", "place": "东城街道西门社区", "classification": "无症状感染者"},
    "release_blocked": {"person": "张*", "place": "东城街道西门社区", "measure": "集中隔离", "ends_on": "2022-03-14"},
}
