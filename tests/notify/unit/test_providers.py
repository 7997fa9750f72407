"""SMS and WeChat adapters: requests signed exactly as the providers' documentation works its examples,
answers classified, quiet hours and caps as rules."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from cordon import policy
from cordon.policy import QuietHours
from services.notify.domain import pacing
from services.notify.service import providers
from services.notify.service.providers import aliyun, tencent, wechat

CHINA = ZoneInfo("Asia/Shanghai")


def test_aliyun_rpc_signature_reproduces_the_documented_sendsms_example():
    # Alibaba Cloud's SMS signature document: AccessKeyId testId, secret testSecret, this SendSms query (GET).
    params = {
        "AccessKeyId": "testId", "Action": "SendSms", "Format": "XML", "OutId": "123", "PhoneNumbers": "15300000001",
        "RegionId": "cn-hangzhou", "SignName": "阿里云短信测试专用", "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466", "SignatureVersion": "1.0", "TemplateCode": "SMS_71390007",
        "TemplateParam": '{"customer":"test"}', "Timestamp": "2017-07-12T02:42:19Z", "Version": "2017-05-25",
    }
    assert aliyun.canonical_query(params) == (
        "AccessKeyId=testId&Action=SendSms&Format=XML&OutId=123&PhoneNumbers=15300000001&RegionId=cn-hangzhou"
        "&SignName=%E9%98%BF%E9%87%8C%E4%BA%91%E7%9F%AD%E4%BF%A1%E6%B5%8B%E8%AF%95%E4%B8%93%E7%94%A8"
        "&SignatureMethod=HMAC-SHA1&SignatureNonce=45e25e9b-0a6f-4070-8c85-2956eda1b466&SignatureVersion=1.0"
        "&TemplateCode=SMS_71390007&TemplateParam=%7B%22customer%22%3A%22test%22%7D&Timestamp=2017-07-12T02%3A42%3A19Z"
        "&Version=2017-05-25"
    )
    assert aliyun.signature("testSecret", "GET", params) == "zJDF+Lrzhj/ThnlvIToysFRq6t4="
    built = aliyun.signed_params(
        access_key_id="testId", secret="testSecret", phone="15300000001", sign_name="阿里云短信测试专用",
        template_code="SMS_71390007", template_param={"customer": "test"}, method="GET", out_id="123", fmt="XML",
        now=datetime(2017, 7, 12, 2, 42, 19, tzinfo=UTC), nonce="45e25e9b-0a6f-4070-8c85-2956eda1b466",
    )
    assert built["Signature"] == "zJDF+Lrzhj/ThnlvIToysFRq6t4=" and {k: v for k, v in built.items() if k != "Signature"} == params
    assert aliyun.percent("a b*~/") == "a%20b%2A~%2F"  # RFC 3986, as the documentation requires


def test_tencent_tc3_signature_reproduces_the_documented_example():
    # Tencent Cloud's "Signature v3" document: CVM DescribeInstances, timestamp 1551113065.
    payload = '{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    header = tencent.authorization(
        secret_id="AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", secret_key="Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", service="cvm",
        host="cvm.tencentcloudapi.com", payload=payload, timestamp=1551113065,
    )
    assert header == (
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, "
        "SignedHeaders=content-type;host, Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    )


@pytest.mark.parametrize("answer, verdict, error_class", [
    ({"Code": "OK", "BizId": "1"}, "sent", None),
    ({"Code": "isv.MOBILE_NUMBER_ILLEGAL"}, "give_up", "bad_number"),
    ({"Code": "isv.BUSINESS_LIMIT_CONTROL"}, "retry", "retry_later"),
    ({"Code": "isv.SMS_TEMPLATE_ILLEGAL"}, "give_up", "never_retry"),
])
def test_aliyun_answers_are_classified(answer, verdict, error_class):
    before = _count("aliyun", error_class)
    outcome = aliyun.classify(200, answer)
    assert outcome.verdict == verdict and (error_class != "bad_number" or outcome.reason.startswith("bad_number"))
    assert _count("aliyun", error_class) == before + (1 if error_class else 0)


@pytest.mark.parametrize("answer, verdict", [
    ({"Response": {"SendStatusSet": [{"Code": "Ok"}], "RequestId": "r"}}, "sent"),
    ({"Response": {"SendStatusSet": [{"Code": "InvalidParameterValue.IncorrectPhoneNumber"}]}}, "give_up"),
    ({"Response": {"SendStatusSet": [{"Code": "LimitExceeded.PhoneNumberDailyLimit"}]}}, "retry"),
    ({"Response": {"Error": {"Code": "AuthFailure.SignatureFailure", "Message": "bad"}}}, "give_up"),
    ({"Response": {"Error": {"Code": "InternalError", "Message": "x"}}}, "retry"),
    ({"unexpected": True}, "give_up"),
])
def test_tencent_answers_are_classified(answer, verdict):
    assert tencent.classify(200, answer).verdict == verdict


def _count(provider: str, error_class: str | None) -> float:
    if error_class is None:
        return 0.0
    return providers.PROVIDER_ERRORS.labels(provider, error_class)._value.get()


def test_wechat_data_fields_follow_the_template_mapping_and_lengths():
    fields = wechat.data_fields({"thing1": "title", "thing2": "content", "character_string3": "code", "time4": "title"},
                                {"title": "核酸检测结果：阳性", "content": "您于2022-04-01采集的核酸样本检测结果为阳性，请留在原地。", "code": "1" * 40})
    assert fields["thing1"] == {"value": "核酸检测结果：阳性"}
    assert len(fields["thing2"]["value"]) == 20 and fields["thing2"]["value"].endswith("…")
    assert len(fields["character_string3"]["value"]) == 32 and fields["time4"]["value"] == "核酸检测结果：阳性"


def test_template_params_are_the_code_alone_or_title_and_content():
    assert providers.template_params("login_code", "登录验证码", "…123456…", "123456") == {"code": "123456"}
    assert providers.template_params("test_due", "今日需做核酸检测", "正文", None) == {"title": "今日需做核酸检测", "content": "正文"}


QUIET = QuietHours()


@pytest.mark.parametrize("local, held_until", [
    (datetime(2022, 4, 1, 21, 59), None),
    (datetime(2022, 4, 1, 22, 0), datetime(2022, 4, 2, 7, 0)),
    (datetime(2022, 4, 1, 23, 30), datetime(2022, 4, 2, 7, 0)),
    (datetime(2022, 4, 2, 3, 0), datetime(2022, 4, 2, 7, 0)),
    (datetime(2022, 4, 2, 6, 59), datetime(2022, 4, 2, 7, 0)),
    (datetime(2022, 4, 2, 7, 0), None),
    (datetime(2022, 4, 2, 12, 0), None),
])
def test_quiet_hours_hold_until_morning(local, held_until):
    now = local.replace(tzinfo=CHINA).astimezone(UTC)
    expected = now if held_until is None else held_until.replace(tzinfo=CHINA).astimezone(UTC)
    assert pacing.not_before(now, quiet=QUIET, tz=CHINA) == expected


def test_quiet_hours_within_one_day_and_switched_off():
    daytime = QuietHours(start=time(12, 0), end=time(14, 0))
    noon = datetime(2022, 4, 1, 13, 0, tzinfo=CHINA)
    assert pacing.not_before(noon, quiet=daytime, tz=CHINA) == datetime(2022, 4, 1, 14, 0, tzinfo=CHINA)
    off = QuietHours(start=time(0, 0), end=time(0, 0))
    assert pacing.not_before(noon, quiet=off, tz=CHINA) == noon


def test_alerts_to_staff_and_login_codes_are_exempt():
    assert pacing.exempt(kind="positive_alert", recipient_type="staff", urgent=True, quiet=QUIET)
    assert pacing.exempt(kind="login_code", recipient_type="phone", urgent=False, quiet=QUIET)
    assert not pacing.exempt(kind="report_reminder", recipient_type="staff", urgent=False, quiet=QUIET)
    assert not pacing.exempt(kind="result_positive", recipient_type="person", urgent=False, quiet=QUIET)


def test_pool_positive_and_retest_alerts_reach_staff_at_night_residents_wait_for_morning():
    from services.notify.domain import recipients

    staff = [recipients.Staff("g1", "grid_worker", ("320413",), "enc")]
    for kind in ("pool_positive_alert", "retest_overdue"):
        (inbox, sms) = recipients.to_staff(kind, staff, {}, region_code="320413")
        assert sms.channel == "sms" and pacing.exempt(kind=kind, recipient_type=sms.recipient_type, urgent=sms.urgent, quiet=QUIET)
    person = recipients.Person(uuid.uuid4(), "320413", phone_enc="enc")
    for kind in ("result_pool_positive", "measure_assigned", "test_due", "exposure"):
        sms = next(p for p in recipients.to_person(kind, person, {}) if p.channel == "sms")
        assert not pacing.exempt(kind=kind, recipient_type=sms.recipient_type, urgent=sms.urgent, quiet=QUIET)


def test_the_default_policy_has_a_template_for_every_sms_kind():
    templates = policy.default().notifications.sms_templates
    for provider in ("aliyun", "tencent"):
        assert providers.required_sms_kinds() <= set(templates[provider]), provider


def test_a_missing_template_is_a_start_up_error(tmp_path):
    from services.notify.app import NotifySettings

    settings = NotifySettings(home=tmp_path, sms_provider="aliyun", sms_sign_name="防疫", aliyun_access_key_id="id",
                              aliyun_access_key_secret="secret")
    document = policy.default().model_dump(mode="json")
    del document["notifications"]["sms_templates"]["aliyun"]["test_due"]
    with pytest.raises(RuntimeError, match="test_due"):
        providers.sms_channel(settings, policy.Policy.model_validate(document), http=None)


def test_production_refuses_the_sink_and_half_configured_providers(tmp_path, monkeypatch):
    from services.notify.app import NotifySettings

    (tmp_path / "jwt_public.pem").write_text("-----BEGIN PUBLIC KEY-----\n")
    prod = dict(env="prod", home=tmp_path, pii_index_key="11" * 32, pii_encryption_key="22" * 32,
                jwt_public_key_file=Path(tmp_path / "jwt_public.pem"), nats_url="nats://nats:4222",
                nats_user="notify", nats_password="nats-secret")
    with pytest.raises(ValueError, match="CORDON_SMS_PROVIDER"):
        NotifySettings(**prod)
    with pytest.raises(ValueError, match="CORDON_TENCENT_SECRET_KEY"):
        NotifySettings(**prod, sms_provider="tencent", sms_sign_name="防疫", tencent_secret_id="id", tencent_sms_sdk_app_id="1400")
    assert NotifySettings(**prod, sms_provider="tencent", sms_sign_name="防疫", tencent_secret_id="id",
                          tencent_secret_key="k", tencent_sms_sdk_app_id="1400").sms_provider == "tencent"


async def test_production_writes_no_sink_file_for_a_channel_without_a_provider(tmp_path):
    from services.notify.app import NotifySettings
    from services.notify.service import channels

    (tmp_path / "jwt_public.pem").write_text("-----BEGIN PUBLIC KEY-----\n")
    settings = NotifySettings(env="prod", home=tmp_path, pii_index_key="11" * 32, pii_encryption_key="22" * 32,
                              jwt_public_key_file=tmp_path / "jwt_public.pem", nats_url="nats://nats:4222",
                              nats_user="notify", nats_password="nats-secret", sms_provider_url="https://sms.example/send")
    adapter = providers.wechat_channel(settings, policy.default(), http=None)  # WeChat left off
    assert isinstance(adapter, channels.Unconfigured)
    message = channels.Message(notification_id="n1", kind="result_positive", recipient="p", to="o-openid", title="t", body="b")
    outcome = await adapter.send(message)
    assert outcome.verdict == "give_up" and "no provider" in outcome.reason
    assert not (tmp_path / "outbox").exists()
