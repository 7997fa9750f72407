"""POST /results: pooled outcomes, repeats, conflicts, corrections and their audit."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from cordon import db
from cordon.bus.tables import outbox
from services.testing.models import ResultCorrection
from tests.testing.integration.helpers import ADMIN, GRID, LAB, now, post_result, post_sample, sample_body


async def test_negative_tube_makes_each_member_negative_and_a_repeat_is_a_no_op(testing):
    for _ in range(3):
        await post_sample(testing, tube="T-NEG")
    first = await post_result(testing, tube="T-NEG")
    assert first.status_code == 201
    assert [s["status"] for s in first.json()["samples"]] == ["negative"] * 3
    again = await post_result(testing, tube="T-NEG")
    assert again.status_code == 200 and again.json()["result"] == "negative"


async def test_positive_tube_is_pool_positive_with_a_retest_deadline_single_positive_is_positive(testing):
    await post_sample(testing, tube="T-POS")
    await post_sample(testing, tube="T-POS")
    single = await post_sample(testing)
    tested = now()
    pooled = (await post_result(testing, tube="T-POS", result="positive", tested_at=tested)).json()
    assert {s["status"] for s in pooled["samples"]} == {"pool_positive"}
    assert all(s["retest_due_by"].startswith((tested + timedelta(hours=12)).strftime("%Y-%m-%dT%H:%M")) for s in pooled["samples"])
    alone = (await post_result(testing, code=single["barcode"], result="positive")).json()
    assert alone["samples"][0]["status"] == "positive" and alone["samples"][0]["retest_due_by"] is None
    # A single-tube retest of one pooled sample settles that person.
    retest = await post_result(testing, code=pooled["samples"][0]["barcode"], result="negative")
    assert retest.status_code == 201 and retest.json()["samples"][0]["status"] == "negative"


async def test_one_sample_tube_positive_is_positive(testing):
    await post_sample(testing, tube="T-ONE")
    response = await post_result(testing, tube="T-ONE", result="positive")
    assert response.json()["samples"][0]["status"] == "positive"


async def test_other_result_is_a_conflict_unless_a_correction_with_reason(testing):
    await post_sample(testing, tube="T-FIX")
    await post_result(testing, tube="T-FIX", result="negative")
    conflict = await post_result(testing, tube="T-FIX", result="positive")
    assert conflict.status_code == 409 and conflict.json()["code"] == "result_conflict"
    no_reason = await post_result(testing, tube="T-FIX", result="positive", correction=True)
    assert no_reason.status_code == 422
    fixed = await post_result(testing, tube="T-FIX", result="invalid", correction=True, reason="试剂批次污染")
    assert fixed.status_code == 201 and fixed.json()["corrected"] is True
    assert fixed.json()["samples"][0]["status"] == "invalid"
    engine = db.create_engine(testing.app_settings.database_url)
    async with engine.connect() as conn:
        audit = (await conn.execute(select(ResultCorrection))).all()
        payloads = (await conn.execute(select(outbox.c.payload).where(outbox.c.nats_subject == "testing.result.recorded"))).scalars().all()
    await engine.dispose()
    assert [(a.previous_result, a.result, a.reason) for a in audit] == [("negative", "invalid", "试剂批次污染")]
    assert len(payloads) == 2 and sum('"correction":true' in p for p in payloads) == 1


async def test_refusals_unknown_target_early_test_tested_tube_and_callers(testing):
    missing = await post_result(testing, tube="T-NOWHERE")
    assert missing.status_code == 404 and missing.json()["code"] == "sample_not_found"
    await post_sample(testing, tube="T-EARLY")
    early = await post_result(testing, tube="T-EARLY", tested_at=now() - timedelta(days=1))
    assert early.status_code == 422 and early.json()["code"] == "tested_before_collected"
    await post_result(testing, tube="T-EARLY")
    late = await testing.post("/api/v1/samples", json=sample_body(tube="T-EARLY"), headers=LAB)
    assert late.status_code == 409 and late.json()["code"] == "tube_already_tested"
    both = await testing.post("/api/v1/results", json={"tube_id": "A", "barcode": "B", "result": "negative", "tested_at": now().isoformat(), "lab": "L"}, headers=LAB)
    assert both.status_code == 422
    assert (await testing.post("/api/v1/results", json={}, headers=GRID)).status_code == 403



async def test_a_retest_not_taken_within_12_hours_is_told_overdue_once(testing):
    from tests.testing.integration.helpers import id_number, published_events

    people = [id_number() for _ in range(3)]
    start = now() - timedelta(hours=5)  # the pooled tube tested five hours ago
    members = [await post_sample(testing, number=p, tube="T-RETEST", at=start - timedelta(hours=2)) for p in people]
    await post_result(testing, tube="T-RETEST", result="positive", tested_at=start)
    await post_result(testing, code=members[0]["barcode"], result="negative", tested_at=start + timedelta(hours=3))  # retested
    await post_sample(testing, number=people[1], at=start + timedelta(hours=4))  # a new single-tube sample
    run = lambda: testing.post("/api/v1/test-schedules/run", headers=ADMIN)  # noqa: E731
    testing.app.state.clock = lambda: start + timedelta(hours=11, minutes=59)
    assert (await run()).json()["retests_overdue"] == 0
    testing.app.state.clock = lambda: start + timedelta(hours=12, minutes=1)
    assert (await run()).json()["retests_overdue"] == 1
    assert (await run()).json()["retests_overdue"] == 0  # once
    testing.app.state.clock = now
    (told,) = await published_events(testing, "testing.retest.overdue")
    assert told["data"]["sample_id"] == members[2]["id"] and told["subject"] == members[2]["id"]
