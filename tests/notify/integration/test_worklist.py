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
