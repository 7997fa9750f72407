"""The `monitoring` profile: alert rules checked and unit-tested by promtool, Prometheus scraping every
process and NATS, and a Grafana dashboard whose every query names a metric Cordon exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY

from cordon import observability  # noqa: F401 - registers every metric Cordon exports
from cordon.settings import SERVICES

MONITORING = Path(__file__).resolve().parents[2] / "deploy" / "monitoring"
ALERTS = {"CordonOutboxBacklogGrowing", "CordonDeadLetters", "CordonNotificationsFailing", "CordonServiceNotReady",
          "CordonNatsDown", "CordonReportsMissing"}
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def exported() -> set[str]:
    names = set()
    for metric in REGISTRY.collect():
        names |= {metric.name, f"{metric.name}_total", f"{metric.name}_bucket"}
    return names


def cordon_metrics(expr: str) -> set[str]:
    return set(re.findall(r"\b(cordon_[a-z_]+)", expr))


def test_every_alert_is_there_with_a_severity_and_chinese_first_and_known_metrics():
    rules = [r for g in yaml.safe_load((MONITORING / "alerts.yml").read_text())["groups"] for r in g["rules"]]
    assert {r["alert"] for r in rules} == ALERTS
    for rule in rules:
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        summary = rule["annotations"]["summary"]
        assert CHINESE.search(summary.split("（")[0]) and "（" in summary, rule["alert"]  # Chinese, then the English
        assert CHINESE.search(rule["annotations"]["description"]), rule["alert"]
        assert cordon_metrics(rule["expr"]) <= exported(), (rule["alert"], cordon_metrics(rule["expr"]) - exported())


def test_promtool_checks_the_rules_and_their_unit_tests_pass(tmp_path):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian package prometheus); .ci/run installs it")
    for args in (["check", "rules", "alerts.yml"], ["test", "rules", "alerts.test.yml"]):
        done = subprocess.run([promtool, *args], cwd=MONITORING, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "SUCCESS" in done.stdout
    # The configuration, with the rule file where this checkout has it.
    config = (MONITORING / "prometheus.yml").read_text().replace("/etc/prometheus/alerts.yml", str(MONITORING / "alerts.yml"))
    (tmp_path / "prometheus.yml").write_text(config)
    done = subprocess.run([promtool, "check", "config", str(tmp_path / "prometheus.yml")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_prometheus_scrapes_every_process_and_nats():
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    (discovered,) = jobs["cordon"]["dns_sd_configs"]
    assert sorted(discovered["names"]) == sorted(SERVICES) and discovered["port"] == 9100
    assert jobs["nats"]["static_configs"][0]["targets"] == ["nats-exporter:7777"]
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]
    compose = yaml.safe_load((MONITORING.parent / "docker-compose.yml").read_text())["services"]
    assert {n for n, s in compose.items() if "monitoring" in s.get("profiles", [])} == {"prometheus", "grafana", "nats-exporter"}
    assert compose["nats-exporter"]["command"][-1] == "http://nats:8222"
    assert all(s["environment"]["CORDON_METRICS_PORT"] == 9100 for n, s in compose.items() if n in SERVICES)


def test_the_dashboard_queries_only_metrics_cordon_exports_and_shows_every_gauge():
    dashboard = json.loads((MONITORING / "grafana" / "dashboards" / "cordon.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = set().union(*(cordon_metrics(e) for e in exprs))
    assert used <= exported(), used - exported()
    gauges = {"cordon_outbox_unsent", "cordon_outbox_oldest_unsent_age_seconds", "cordon_dead_letters", "cordon_inbox_lag",
              "cordon_notifications", "cordon_upstream_breaker_open", "cordon_leads_overdue", "cordon_reports_missing",
              "cordon_ready"}
    assert gauges <= used, gauges - used
    assert all(CHINESE.search(p["title"]) for p in dashboard["panels"])
    provider = yaml.safe_load((MONITORING / "grafana" / "provisioning" / "dashboards" / "cordon.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    source = yaml.safe_load((MONITORING / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text())
    assert source["datasources"][0]["uid"] == dashboard["panels"][0]["datasource"]["uid"]
