"""Who is told: residents by their channels, staff by role and region, alerts up the chain of regions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from cordon import regions


@dataclass(frozen=True)
class Person:
    person_id: uuid.UUID
    region_code: str
    language: str = "zh"
    phone_index: str | None = None
    phone_enc: str | None = None
    name_masked: str = ""


@dataclass(frozen=True)
class Staff:
    username: str
    role: str
    regions: tuple[str, ...] = ()
    phone_enc: str | None = None


@dataclass(frozen=True)
class Plan:
    """One notification to create."""

    kind: str
    recipient: str
    recipient_type: str  # person | staff | phone | office
    channel: str
    language: str
    facts: dict
    person_id: uuid.UUID | None = None
    phone_index: str | None = None
    region_code: str | None = None
    to_enc: str | None = None
    secret_enc: str | None = None
    urgent: bool = False
    extra: dict = field(default_factory=dict)


# Which channels each kind goes through. SMS for what cannot wait; the inbox for everything else.
CHANNELS: dict[str, tuple[str, ...]] = {
    "result_negative": ("inbox",),
    "result_invalid": ("inbox",),
    "result_positive": ("inbox", "sms"),
    "result_pool_positive": ("inbox", "sms"),
    "healthcode_changed": ("inbox",),
    "healthcode_changed_red": ("inbox", "sms"),
    "measure_assigned": ("inbox", "sms"),
    "test_due": ("inbox", "sms"),
    "gathering_approved": ("inbox", "sms"),
    "gathering_rejected": ("inbox", "sms"),
    "gathering_cancelled": ("inbox", "sms"),
    "exposure": ("inbox", "sms"),
    "login_code": ("sms",),
    "positive_alert": ("inbox", "sms"),
    "alert_escalated": ("inbox", "sms"),
    "lead_overdue": ("inbox", "sms"),
    "lead_overdue_escalated": ("inbox", "sms"),
    "pool_positive_alert": ("inbox", "sms"),
    "retest_overdue": ("inbox", "sms"),
    "staff_measure_assigned": ("inbox",),
    "test_overdue": ("inbox",),
    # Grid accountability: the named staff must act, so SMS as well as the inbox.
    "staff_assigned": ("inbox", "sms"),
    "staff_missing": ("inbox", "sms"),
    "followup_missed": ("inbox", "sms"),
    "followup_escalated": ("inbox", "sms"),
    "report_reminder": ("inbox", "sms"),
    "report_missing": ("inbox", "sms"),
    # Cases and release: the responsible staff and the county's officials act on them.
    "case_confirmed": ("inbox", "sms"),
    "case_discharged": ("inbox", "sms"),
    "case_withdrawn": ("inbox", "sms"),
    "release_blocked": ("inbox", "sms"),
}
# Alerts to staff: they pass the quiet hours and never fold.
URGENT = frozenset({"positive_alert", "alert_escalated", "lead_overdue", "lead_overdue_escalated", "pool_positive_alert",
                    "retest_overdue"})
# The kind an alert's escalation is told as, by the alert's kind (else alert_escalated: a positive).
ESCALATED = {"lead_overdue": "lead_overdue_escalated"}
# Staff told of routine matters in a region: those who work it.
REGION_STAFF_ROLES = ("official", "grid_worker")
PHONE_CHANNELS = ("sms", "wechat")


def to_person(kind: str, person: Person, facts: dict, *, channels: tuple[str, ...] | None = None) -> list[Plan]:
    plans = []
    for channel in channels or CHANNELS[kind]:
        if channel in PHONE_CHANNELS and not person.phone_enc:
            continue
        plans.append(Plan(
            kind=kind, recipient=str(person.person_id), recipient_type="person", channel=channel,
            language=person.language, facts=facts, person_id=person.person_id, phone_index=person.phone_index,
            region_code=person.region_code, to_enc=person.phone_enc if channel in PHONE_CHANNELS else None,
            urgent=kind in URGENT,
        ))
    return plans


def to_phone(kind: str, phone_index: str, phone_enc: str | None, facts: dict, *, region_code: str | None = None,
             channels: tuple[str, ...] | None = None, secret_enc: str | None = None) -> list[Plan]:
    """Someone known only by phone (not registered): the inbox they see once signed in with it, and SMS."""
    plans = []
    for channel in channels or CHANNELS[kind]:
        if channel in PHONE_CHANNELS and not phone_enc:
            continue
        plans.append(Plan(
            kind=kind, recipient=phone_index, recipient_type="phone", channel=channel, language="zh", facts=facts,
            phone_index=phone_index, region_code=region_code, to_enc=phone_enc if channel in PHONE_CHANNELS else None,
            secret_enc=secret_enc, urgent=kind in URGENT,
        ))
    return plans


def to_staff(kind: str, staff: list[Staff], facts: dict, *, region_code: str | None,
             person_id: uuid.UUID | None = None) -> list[Plan]:
    """``person_id``: the person the notice is about (the staff member's inbox links to them)."""
    plans = []
    for member in staff:
        for channel in CHANNELS[kind]:
            if channel in PHONE_CHANNELS and not member.phone_enc:
                continue
            plans.append(Plan(
                kind=kind, recipient=member.username, recipient_type="staff", channel=channel, language="zh",
                facts=facts, person_id=person_id, region_code=region_code,
                to_enc=member.phone_enc if channel in PHONE_CHANNELS else None, urgent=kind in URGENT,
            ))
    return plans


def in_care(*, role: str, regions_held: tuple[str, ...] | list[str], region_code: str | None) -> bool:
    """Whether a staff member looks after a person living in ``region_code``: an admin, or one whose places
    hold it. They may read the person's name in full; everyone else reads it masked."""
    if role == "admin":
        return True
    return role in REGION_STAFF_ROLES and region_code is not None and any(
        regions.contains(own, region_code) for own in regions_held if regions.is_region_code(own))


def to_office(kind: str, region_code: str, facts: dict) -> list[Plan]:
    """The command office's own system, through the signed webhook."""
    return [Plan(kind=kind, recipient=f"office:{region_code}", recipient_type="office", channel="webhook", language="zh",
                 facts=facts, region_code=region_code, urgent=kind in URGENT)]


def chain(region_code: str) -> list[str]:
    """The region and every region above it: 320413, 320400, 320000."""
    codes = [region_code]
    while (up := regions.parent(codes[-1])) is not None:
        codes.append(up)
    return codes


def working_in(staff: list[Staff], region_code: str, roles: tuple[str, ...] = REGION_STAFF_ROLES) -> list[Staff]:
    """Staff of ``roles`` whose regions contain ``region_code``."""
    return sorted(
        (s for s in staff if s.role in roles and any(regions.contains(own, region_code) for own in s.regions)),
        key=lambda s: s.username,
    )


@dataclass(frozen=True)
class Tier:
    region_code: str | None  # None: the admins
    staff: tuple[Staff, ...]


def alert_tiers(staff: list[Staff], region_code: str) -> list[Tier]:
    """Who an alert goes to, level by level: the officials of the region itself, then of each region
    above it that has any, then the admins. Level 0 is the first tier with anyone in it."""
    tiers = []
    for code in chain(region_code):
        officials = tuple(sorted((s for s in staff if s.role == "official" and code in s.regions), key=lambda s: s.username))
        if officials:
            tiers.append(Tier(code, officials))
    admins = tuple(sorted((s for s in staff if s.role == "admin"), key=lambda s: s.username))
    if admins:
        tiers.append(Tier(None, admins))
    return tiers


def officials_of(staff: list[Staff], region_code: str) -> list[Staff]:
    """Who answers for a region: the first alert tier (its officials, else the nearest region above
    with officials, else the admins), told without the alert's acknowledgement and escalation."""
    tiers = alert_tiers(staff, region_code)
    return list(tiers[0].staff) if tiers else []


def named(staff: list[Staff], usernames: list[str]) -> tuple[list[Staff], list[str]]:
    """The staff an event names, in its order and once each, and the names nobody here knows (yet)."""
    by_name = {s.username: s for s in staff}
    found, unknown = [], []
    for username in dict.fromkeys(usernames):
        if username in by_name:
            found.append(by_name[username])
        else:
            unknown.append(username)
    return found, unknown


def together(*groups: list[Staff]) -> list[Staff]:
    """Several groups as one list, each username once (the first wins)."""
    seen: dict[str, Staff] = {}
    for group in groups:
        for member in group:
            seen.setdefault(member.username, member)
    return list(seen.values())


def duties_by_username(staff: dict[str, str | None]) -> dict[str, list[str]]:
    """{duty: username} turned around: one person may hold several duties and is told once."""
    held: dict[str, list[str]] = {}
    for duty, username in staff.items():
        if username:
            held.setdefault(username, []).append(duty)
    return held
