from datetime import UTC, date, datetime

from cordon.policy import default
from services.registry.domain.healthcode import ActiveMeasure, HealthState, derive

POLICY = default()
UNTIL = date(2022, 2, 1)


def color(**state):
    return derive(HealthState(**state), POLICY)


def test_green_without_conditions():
    assert color() == ("green", [])


def test_red_for_centralized_quarantine_with_rule_and_until():
    result, reasons = color(measures=(ActiveMeasure("centralized_quarantine", "high_risk_travel", UNTIL),),
                            rule_titles={"high_risk_travel": "高风险地区旅居史"})
    assert result == "red"
    assert reasons[0].rule == "high_risk_travel" and reasons[0].until == UNTIL
    assert "集中隔离" in reasons[0].detail and "高风险地区旅居史" in reasons[0].detail


def test_yellow_conditions():
    moment = datetime(2022, 1, 2, tzinfo=UTC)
    for state in (
        {"measures": (ActiveMeasure("home_health_monitoring", "medium_risk_travel", UNTIL),)},
        {"measures": (ActiveMeasure("home_quarantine", "inbound", UNTIL),)},
        {"pool_positive_due_by": moment},
        {"overdue_since": date(2022, 1, 1)},
        {"fever_celsius": 37.3},
    ):
        assert color(**state)[0] == "yellow", state


def test_daily_health_monitoring_alone_is_green():
    assert color(measures=(ActiveMeasure("daily_health_monitoring", "inbound", UNTIL),))[0] == "green"


def test_red_wins_and_keeps_yellow_reasons_after_its_own():
    result, reasons = color(positive_at=datetime(2022, 1, 2, tzinfo=UTC), fever_celsius=38.0)
    assert result == "red"
    assert [r.rule for r in reasons] == ["positive", "fever"]


def test_policy_decides_the_colours():
    lenient = POLICY.model_copy(update={"health_code": POLICY.health_code.model_copy(update={"yellow": []})})
    assert derive(HealthState(fever_celsius=38.5), lenient)[0] == "green"
