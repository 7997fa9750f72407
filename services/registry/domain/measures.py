"""A measure's status follows from its dates and whether it was released."""

from __future__ import annotations

from datetime import date

KIND_TITLES = {
    "centralized_quarantine": {"zh": "集中隔离", "en": "centralized quarantine"},
    "home_quarantine": {"zh": "居家隔离", "en": "home quarantine"},
    "home_health_monitoring": {"zh": "居家健康监测", "en": "home health monitoring"},
    "daily_health_monitoring": {"zh": "日常健康监测", "en": "daily health monitoring"},
}


def status(starts_on: date, ends_on: date, today: date, released: bool = False) -> str:
    if released:
        return "released"
    if today < starts_on:
        return "scheduled"
    if today > ends_on:
        return "completed"
    return "active"
