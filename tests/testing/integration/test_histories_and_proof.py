"""Histories and negative proofs: linking samples to registry people, regions, residents, the clock."""

from __future__ import annotations

from datetime import timedelta

from tests.testing.integration.helpers import (
    ADMIN,
    ELSEWHERE,
    GRID,
    LAB,
    OFFICIAL,
    id_number,
    now,
    post_result,
    post_sample,
    register_person,
    vault,
)
from tests.tokens import bearer


async def test_sample_before_registration_is_linked_and_history_is_paged_newest_first(testing):
    number = id_number()
    early = await post_sample(testing, number=number, at=now() - timedelta(hours=30))
    person_id = await register_person(testing, number)
    later = await post_sample(testing, number=number, at=now() - timedelta(hours=2))
    assert later["person_id"] == str(person_id)
    page = (await testing.get(f"/api/v1/persons/{person_id}/tests?limit=1", headers=GRID)).json()
    assert [s["barcode"] for s in page["items"]] == [later["barcode"]] and page["next_cursor"]
    rest = (await testing.get(f"/api/v1/persons/{person_id}/tests?limit=1&cursor={page['next_cursor']}", headers=OFFICIAL)).json()
    assert [s["barcode"] for s in rest["items"]] == [early["barcode"]] and rest["next_cursor"] is None
    bad = await testing.get(f"/api/v1/persons/{person_id}/tests?cursor=nonsense", headers=GRID)
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_cursor"


async def test_regions_and_residents_see_only_what_is_theirs(testing):
    number = id_number()
    person_id = await register_person(testing, number, phone="13800001111")
    await post_sample(testing, number=number)
    url = f"/api/v1/persons/{person_id}/tests"
    assert (await testing.get(url, headers=ELSEWHERE)).status_code == 404
    assert (await testing.get(url, headers=bearer("resident", person_id=str(person_id)))).status_code == 200
    assert (await testing.get(url, headers=bearer("resident", phone_index="someone-else"))).status_code == 404
    assert (await testing.get(f"/api/v1/persons/{person_id}/negative-proof", headers=bearer("resident", phone_index="x"))).status_code == 404
    assert (await testing.get(url, headers=bearer("partner"))).status_code == 403
    assert (await testing.get("/api/v1/persons/00000000-0000-0000-0000-000000000000/tests", headers=ADMIN)).status_code == 404
    # A resident known only by phone (no person_id claim yet) finds their own.
    phone_index = vault(testing).index("phone", "13800001111")
    mine = (await testing.get("/api/v1/me/tests", headers=bearer("resident", sub=phone_index, phone_index=phone_index))).json()
    assert len(mine["items"]) == 1
    stranger = (await testing.get("/api/v1/me/tests", headers=bearer("resident", phone_index="unknown"))).json()
    assert stranger == {"items": [], "next_cursor": None}
    assert (await testing.get("/api/v1/me/tests", headers=GRID)).status_code == 403


async def test_negative_proof_edges_and_a_later_pool_positive(testing):
    number = id_number()
    person_id = await register_person(testing, number)
    collected = now() - timedelta(hours=3)
    sample = await post_sample(testing, number=number, at=collected, tube="T-PROOF")
    url = f"/api/v1/persons/{person_id}/negative-proof"
    assert (await testing.get(url, headers=ELSEWHERE)).json() == {"valid": False, "collected_at": None, "barcode": None, "within_hours": 48}
    await post_result(testing, tube="T-PROOF")
    proof = (await testing.get(url, headers=ELSEWHERE)).json()  # any staff member: a gate anywhere
    assert proof["valid"] and proof["barcode"] == sample["barcode"]
    # Exactly 48 hours after the collection it still holds; a second later it does not.
    testing.app.state.clock = lambda: collected + timedelta(hours=48)
    assert (await testing.get(url, headers=GRID)).json()["valid"] is True
    testing.app.state.clock = lambda: collected + timedelta(hours=48, seconds=1)
    assert (await testing.get(url, headers=GRID)).json()["valid"] is False
    assert (await testing.get(url + "?within_hours=72", headers=GRID)).json()["valid"] is True
    assert (await testing.get(url + "?within_hours=0", headers=GRID)).status_code == 422
    testing.app.state.clock = lambda: collected + timedelta(hours=4)
    me = bearer("resident", person_id=str(person_id))
    assert (await testing.get("/api/v1/me/negative-proof?within_hours=24", headers=me)).json()["valid"] is True
    await post_sample(testing, number=number, at=collected + timedelta(hours=1), tube="T-LATER")
    await post_sample(testing, tube="T-LATER")
    await post_result(testing, tube="T-LATER", result="positive", tested_at=collected + timedelta(hours=2))
    assert (await testing.get("/api/v1/me/negative-proof", headers=me)).json()["valid"] is False
    assert (await testing.get(url, headers=LAB)).json()["valid"] is False
