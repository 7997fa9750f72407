import pytest
import yaml
from pydantic import ValidationError

from cordon import policy


def doc():
    return yaml.safe_load(policy.DEFAULT_PATH.read_text(encoding="utf-8"))


def test_default_mirrors_the_domain_table():
    p = policy.default()
    assert [(m.kind, m.days) for m in p.rules["high_risk_travel"].measures] == [
        ("centralized_quarantine", 14), ("home_health_monitoring", 7)]
    assert [(m.kind, m.days) for m in p.rules["inbound"].measures] == [
        ("centralized_quarantine", 14), ("home_quarantine", 7), ("daily_health_monitoring", 7)]
    assert p.gatherings.prohibited_from == 300 and p.gatherings.approval_from == 50
    assert p.testing.retest_within_hours == 12 and p.notifications.alert_ack_minutes == 30
    assert p.title("close_contact") == "密切接触者" and p.title("close_contact", "en") == "Close contact"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d["rules"]["high_risk_travel"]["measures"].clear(),
        lambda d: d["rules"]["high_risk_travel"]["tests"].append({"measure": "home_quarantine", "day": 1}),
        lambda d: d["rules"]["high_risk_travel"]["tests"].append({"measure": "home_health_monitoring", "day": 8}),
        lambda d: d["rules"]["medium_risk_travel"]["trigger"].pop("level"),
        lambda d: d["health_code"]["red"].append("sneezing"),
        lambda d: d["gatherings"].update(approval_from=400),
        lambda d: d.update(surprise=1),
        lambda d: d["rules"]["inbound"]["measures"][0].update(days=0),
    ],
)
def test_invalid_documents_are_refused(mutate):
    d = doc()
    mutate(d)
    with pytest.raises(ValidationError):
        policy.Policy.model_validate(d)


def test_not_a_mapping():
    with pytest.raises(ValueError):
        policy.parse_yaml("- just\n- a list\n")
