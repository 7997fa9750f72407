"""POST /samples: recorded, repeated, refused; who may post."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.testing.integration.helpers import GRID, LAB, bad_id_number, id_number, post_sample, sample_body


async def test_sample_recorded_masked_and_a_repost_is_a_no_op(testing):
    body = sample_body(id_number())
    created = await testing.post("/api/v1/samples", json=body, headers=LAB)
    assert created.status_code == 201
    sample = created.json()
    assert sample["status"] == "pending" and sample["person_id"] is None
    assert sample["id_number_masked"] == body["id_number"][:4] + "*" * 10 + body["id_number"][-4:]
    assert body["id_number"] not in created.text
    again = await testing.post("/api/v1/samples", json=body, headers=LAB)
    assert again.status_code == 200 and again.json()["id"] == sample["id"]


async def test_same_barcode_other_sample_is_a_conflict(testing):
    body = sample_body()
    await testing.post("/api/v1/samples", json=body, headers=LAB)
    other = await testing.post("/api/v1/samples", json={**body, "id_number": id_number()}, headers=LAB)
    assert other.status_code == 409 and other.json()["code"] == "barcode_conflict"


async def test_wrong_check_character_is_refused(testing):
    response = await testing.post("/api/v1/samples", json=sample_body(bad_id_number()), headers=LAB)
    assert response.status_code == 422 and response.json()["code"] == "id_number_invalid"


async def test_pool_holds_at_most_the_policy_limit(testing):
    for _ in range(20):
        await post_sample(testing, tube="T-FULL")
    response = await testing.post("/api/v1/samples", json=sample_body(tube="T-FULL"), headers=LAB)
    assert response.status_code == 422 and response.json()["code"] == "pool_too_large"


async def test_bad_input_and_wrong_callers(testing):
    missing = await testing.post("/api/v1/samples", json={"barcode": "B"}, headers=LAB)
    assert missing.status_code == 422 and missing.json()["code"] == "validation_error"
    naive = await testing.post("/api/v1/samples", json={**sample_body(), "collected_at": "2022-03-01T10:00:00"}, headers=LAB)
    assert naive.status_code == 422
    impossible = await testing.post("/api/v1/samples", json={**sample_body(), "collected_at": "2999-01-01T00:00:00+08:00"}, headers=LAB)
    assert impossible.status_code == 422 and impossible.json()["errors"][0]["field"] == "collected_at"
    next_year = f"{datetime.now(UTC).year + 1}-01-01T00:00:00+08:00"
    future = await testing.post("/api/v1/samples", json={**sample_body(), "collected_at": next_year}, headers=LAB)
    assert future.status_code == 422 and future.json()["code"] == "collected_at_in_future"
    assert (await testing.post("/api/v1/samples", json=sample_body(), headers=GRID)).status_code == 403
    assert (await testing.post("/api/v1/samples", json=sample_body())).status_code == 401
