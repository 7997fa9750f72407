"""Grid-accountability events on real JetStream reach the staff they name and the officials who answer for the
region: once each, even when an event is published again under a new message id."""

from __future__ import annotations

from datetime import UTC, date, datetime

from cordon.contracts import registry
from tests.notify.integration.conftest import projected, publish, vault
from tests.notify.integration.people import REGION, person_registered, user_created
from tests.notify.integration.test_triggers import listed
from tests.serving import eventually

ON = date(2022, 3, 1)
DEADLINE = datetime(2022, 3, 1, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai
FAR = "110101"  # a unit nobody here covers: its missing report falls through to the admins


def told(items: list[dict]) -> list[tuple[str, str]]:
    assert all(i["count"] == 1 for i in items), "a second copy of an event folded into its own notice"
    return sorted((i["recipient"], i["channel"]) for i in items)


async def published_twice(url: str, *events) -> None:
    """As the registry publishes them, then again past the stream's duplicate window (new message ids)."""
    envelopes = await publish(url, *events)
    await publish(url, envelopes=envelopes, redeliver=True)


async def all_handled(client, url: str) -> None:
    """A last event on the same stream (handled in order by the one consumer): once it has made its notice,
    everything published before it, the second copies included, has been handled too."""
    await publish(url, registry.ReportMissing(region_code=FAR, on=ON, deadline_at=DEADLINE))

    async def done():
        return any(i["region_code"] == FAR for i in await listed(client, kind="report_missing"))
    await eventually(done)


async def of_kind(client, kind: str) -> list[dict]:
    return await listed(client, kind=kind)


async def test_the_five_are_told_whom_they_answer_for_and_the_officials_of_the_gaps(notify, nats_server):
    v = vault(notify)
    person = person_registered(v, None)
    users = [user_created(v, "zhen-1", "grid_worker", [REGION], "13700000001"), user_created(v, "cun-1", "grid_worker", [REGION]),
             user_created(v, "grid-1", "grid_worker", [REGION], "13700000003"),
             user_created(v, "o1", "official", [REGION], "13700000004"), user_created(v, "o-city", "official", ["320400"]),
             user_created(v, "root", "admin", [])]
    await publish(nats_server.url, *users, person)
    await projected(notify, *users, person)
    await published_twice(nats_server.url, registry.StaffAssigned(
        person_id=person.person_id, region_code=REGION, roster_region=REGION,
        # "ghost" has no account (yet): skipped, not retried; cun-1 holds two duties and is told once, naming both.
        staff={"township_cadre": "zhen-1", "village_cadre": "cun-1", "doctor": None, "police": "ghost", "grid_worker": "cun-1"},
        missing=["doctor"],
    ))
    await all_handled(notify, nats_server.url)

    five = await of_kind(notify, "staff_assigned")
    assert told(five) == [("cun-1", "inbox"), ("zhen-1", "inbox"), ("zhen-1", "sms")]
    assert all("张*" in i["body"] and not i["urgent"] for i in five)
    assert "包保村（社区）干部、包保网格员" in next(i["body"] for i in five if i["recipient"] == "cun-1")
    gaps = await of_kind(notify, "staff_missing")
    assert told(gaps) == [("o1", "inbox"), ("o1", "sms")]  # the region's own official, not the city's nor the admin
    assert all("包保医生" in i["body"] for i in gaps)


async def test_follow_ups_and_daily_reports_reach_the_named_staff_and_the_officials_above(notify, nats_server):
    v = vault(notify)
    person = person_registered(v, None)
    users = [user_created(v, "grid-1", "grid_worker", [REGION], "13700000003"), user_created(v, "cun-1", "grid_worker", [REGION]),
             user_created(v, "o1", "official", [REGION]), user_created(v, "o-city", "official", ["320400"], "13700000005"),
             user_created(v, "root", "admin", [])]
    await publish(nats_server.url, *users, person)
    await projected(notify, *users, person)
    slot = dict(person_id=person.person_id, region_code=REGION, measure_id=person.person_id, on=ON, slot="evening",
                due_by=datetime(2022, 3, 1, 12, 0, tzinfo=UTC))
    await published_twice(
        nats_server.url,
        registry.FollowUpMissed(**slot, notify=["grid-1", "ghost"]),
        registry.FollowUpEscalated(**slot, notify=["cun-1", "o1"]),  # o1 named and an official of the region: once
        registry.ReportReminded(region_code=REGION, on=ON, deadline_at=DEADLINE, notify=["grid-1", "cun-1"]),
        registry.ReportMissing(region_code=REGION, on=ON, deadline_at=DEADLINE, parent_region="320400"),
    )
    await all_handled(notify, nats_server.url)

    missed = await of_kind(notify, "followup_missed")
    assert told(missed) == [("grid-1", "inbox"), ("grid-1", "sms")]
    assert "晚间" in missed[0]["body"] and "2022-03-01 20:00" in missed[0]["body"]
    assert told(await of_kind(notify, "followup_escalated")) == [("cun-1", "inbox"), ("o1", "inbox")]
    reminders = await of_kind(notify, "report_reminder")
    assert told(reminders) == [("cun-1", "inbox"), ("grid-1", "inbox"), ("grid-1", "sms")]
    assert all("2022-03-01 14:00" in i["body"] for i in reminders)
    missing = [i for i in await of_kind(notify, "report_missing") if i["region_code"] != FAR]
    assert told(missing) == [("o-city", "inbox"), ("o-city", "sms")]  # the parent's officials, not the unit's own
    assert all("金坛区" in i["body"] and REGION not in i["body"] and "2022-03-01" in i["body"] for i in missing)  # by name
    fallen_through = [i for i in await of_kind(notify, "report_missing") if i["region_code"] == FAR]
    assert told(fallen_through) == [("root", "inbox")]
