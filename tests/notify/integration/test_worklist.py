"""The worklist read model from the registry's lead events on real JetStream: open leads in the caller's places
only, overdue once the registry says so, gone when closed, whatever order the events arrive in (a closing
event first, an opening one redelivered after it); places named as the registry last named them."""

from __future__ import annotations

import uuid
from datetime import timedelta

from cordon.clock import utcnow
from cordon.contracts import registry
from tests.notify.integration.conftest import publish
from tests.serving import settled
from tests.tokens import bearer

TOWNSHIP, VILLAGE, NEXT_VILLAGE = "320413100", "320413100201", "320413100202"
GRID = bearer("grid_worker", regions=[VILLAGE], username="g-dm")
NEXT_GRID = bearer("grid_worker", regions=[NEXT_VILLAGE], username="g-xm")
TOWNSHIP_OFFICIAL = bearer("official", regions=[TOWNSHIP], username="zhen")


def places(*named: tuple[str, str]) -> registry.RegionChanged:
    return registry.RegionChanged(places=[
        registry.Place(code=code, name=name, level={9: "township", 12: "village"}[len(code)], parent=code[:-3]) for code, name in named
    ], by="admin")


def lead(cls, region: str | None, *, lead_id=None, **extra):
    return cls(lead_id=lead_id or uuid.uuid4(), region_code=region, source="travel_record", due_at=utcnow() + timedelta(hours=24),
               phone_masked="139****0001", reasons=[registry.LeadReason(rule="high_risk_travel", detail="武汉市")], **extra)


async def worklist(notify, headers) -> list[dict]:
    response = await notify.get("/api/v1/me/worklist", params={"limit": 500}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_leads_on_the_worklists_of_their_places(notify, nats_server):
    url = nats_server.url
    here, there, closed_early, nowhere, done = (lead(registry.LeadOpened, VILLAGE), lead(registry.LeadOpened, NEXT_VILLAGE),
                                                uuid.uuid4(), lead(registry.LeadOpened, None), lead(registry.LeadOpened, VILLAGE))
    await publish(url, places((TOWNSHIP, "金城镇"), (VILLAGE, "东门村"), (NEXT_VILLAGE, "西门村")))
    await publish(url, here, there, nowhere, done,
                  lead(registry.LeadClosed, VILLAGE, lead_id=closed_early, outcome="not_found", closed_by="g-dm"),
                  lead(registry.LeadOpened, VILLAGE, lead_id=closed_early),  # redelivered after its closing: stays closed
                  lead(registry.LeadClosed, VILLAGE, lead_id=done.lead_id, outcome="registered", person_id=uuid.uuid4()),
                  lead(registry.LeadOverdue, VILLAGE, lead_id=here.lead_id, county_code="320413"))
    await settled(url, notify)

    mine = await worklist(notify, GRID)
    assert [(i["kind"], i["id"], i["lead_id"], i["overdue"]) for i in mine] == [("lead", str(here.lead_id),
                                                                               str(here.lead_id), True)]
    assert mine[0]["title"] == "排查线索：139****0001（金城镇东门村）" and mine[0]["region_code"] == VILLAGE
    assert mine[0]["person_id"] is None and mine[0]["place"] == "金城镇东门村"
    assert [i["lead_id"] for i in await worklist(notify, NEXT_GRID)] == [str(there.lead_id)]
    assert sorted(i["lead_id"] for i in await worklist(notify, TOWNSHIP_OFFICIAL)) == sorted([str(here.lead_id), str(there.lead_id)])

    # A place renamed: the list names it anew.
    await publish(url, places((VILLAGE, "东门社区")))
    await settled(url, notify)
    assert (await worklist(notify, GRID))[0]["place"] == "金城镇东门社区"

    # Closed: off the list, and an overdue notice redelivered after it does not bring it back.
    await publish(url, lead(registry.LeadClosed, VILLAGE, lead_id=here.lead_id, outcome="left_area", closed_by="g-dm"),
                  lead(registry.LeadOverdue, VILLAGE, lead_id=here.lead_id, county_code="320413"))
    await settled(url, notify)
    assert await worklist(notify, GRID) == []
    assert (await notify.get("/api/v1/me/worklist", headers=bearer("admin", username="root"))).status_code == 403


async def test_follow_ups_and_tests_follow_their_person_and_closed_ones_are_tidied(notify, nats_server):
    """A follow-up done before its opening arrives never shows; a person who moves takes their open work to the
    new place's list; closed items are kept three days (a late event must find them closed), then deleted."""
    from datetime import date

    from cordon.clock import CHINA, local_date
    from cordon.contracts import testing
    from services.notify.models import WorkItem
    from services.notify.service import worklist as read_model
    from tests.notify.integration.conftest import vault
    from tests.notify.integration.people import person_registered

    url, v = nats_server.url, vault(notify)
    today: date = local_date(utcnow())
    wang = person_registered(v, "13900000001", region=VILLAGE)
    li = person_registered(v, "13900000002", region=VILLAGE)
    measure = uuid.uuid4()
    day_end = utcnow().astimezone(CHINA).replace(hour=23, minute=59)  # due by the end of the day

    def slot(person, name: str, cls=registry.FollowUpDue):
        return cls(person_id=person.person_id, region_code=VILLAGE, measure_id=measure, on=today, slot=name, due_by=day_end, notify=[])

    schedule = dict(schedule_id=uuid.uuid4(), person_id=li.person_id, region_code=VILLAGE, measure_id=measure, due_on=today)
    await publish(url, places((TOWNSHIP, "金城镇"), (VILLAGE, "东门村"), (NEXT_VILLAGE, "西门村")), wang, li,
                  slot(wang, "morning", registry.FollowUpDone), slot(wang, "morning"),  # done first, opened after: stays off
                  slot(wang, "evening"), slot(li, "evening"))
    await publish(url, testing.ScheduleDue(**schedule))
    await settled(url, notify)
    assert sorted((i["kind"], i["person_id"]) for i in await worklist(notify, GRID)) == sorted(
        [("follow_up", str(wang.person_id)), ("follow_up", str(li.person_id)), ("test", str(li.person_id))])

    # 李 moves to the next village: her follow-up and test go with her.
    moved = registry.PersonUpdated(**{**li.model_dump(), "region_code": NEXT_VILLAGE})
    await publish(url, moved, testing.ScheduleFulfilled(**{**schedule, "region_code": NEXT_VILLAGE}))
    await settled(url, notify)
    assert [(i["kind"], i["person_id"]) for i in await worklist(notify, GRID)] == [("follow_up", str(wang.person_id))]
    theirs = await worklist(notify, NEXT_GRID)
    assert [(i["kind"], i["place"]) for i in theirs] == [("follow_up", "金城镇西门村")]
    assert theirs[0]["title"].endswith("（金城镇西门村）")

    # Tidying: nothing closed is deleted before three days; after, the tombstones go and the open items stay.
    async with notify.app.state.sessionmaker() as session:
        assert await read_model.tidy(session=session, now=utcnow()) == 0
    async with notify.app.state.sessionmaker() as session:
        assert await read_model.tidy(session=session, now=utcnow() + timedelta(days=3, minutes=1)) == 2  # the closed ones
    async with notify.app.state.sessionmaker() as session:  # and the follow-ups, three days after their day ended
        assert await read_model.tidy(session=session, now=utcnow() + timedelta(days=4, minutes=1)) == 2
    async with notify.app.state.sessionmaker() as session:
        from sqlalchemy import func, select
        assert await session.scalar(select(func.count()).select_from(WorkItem)) == 0
