"""Batch uploads: NDJSON or a JSON array; bad lines are listed and never cost the good ones."""

from __future__ import annotations

import orjson

from tests.testing.integration.helpers import LAB, bad_id_number, now, sample_body

NDJSON = {**LAB, "Content-Type": "application/x-ndjson"}


def ndjson(*items) -> bytes:
    return b"\n".join(i if isinstance(i, bytes) else orjson.dumps(i) for i in items) + b"\n"


async def test_sample_batch_keeps_every_good_line_and_names_each_bad_one(testing):
    good = [sample_body(tube="T-B1") for _ in range(10)]
    conflicting = {**good[0], "site": "另一个采样点"}
    body = ndjson(good[0], b"{oops", *good[1:5], {"barcode": "X"}, sample_body(bad_id_number()), *good[5:], conflicting, good[1])
    response = await testing.post("/api/v1/samples/batch", content=body, headers=NDJSON)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["accepted"] == 10 and answer["duplicates"] == 1
    assert [(r["line"], r["code"]) for r in answer["rejected"]] == [
        (2, "invalid_json"), (7, "validation_error"), (8, "id_number_invalid"), (14, "barcode_conflict")
    ]
    again = (await testing.post("/api/v1/samples/batch", content=ndjson(*good), headers=NDJSON)).json()
    assert again == {"accepted": 0, "duplicates": 10, "rejected": [], "rejected_total": 0}


async def test_result_batch_as_json_array_with_bad_lines(testing):
    samples = [sample_body(tube=f"T-R{i}") for i in range(5)]
    await testing.post("/api/v1/samples/batch", json=samples, headers=LAB)
    at = now().isoformat()
    lines = [{"tube_id": f"T-R{i}", "result": "negative", "tested_at": at, "lab": "L"} for i in range(5)]
    lines.insert(2, {"tube_id": "T-NONE", "result": "negative", "tested_at": at, "lab": "L"})
    lines.insert(3, {"tube_id": "T-R0", "result": "positive", "tested_at": at, "lab": "L"})
    lines.insert(4, {"result": "maybe"})
    answer = (await testing.post("/api/v1/results/batch", json=lines, headers=LAB)).json()
    assert answer["accepted"] == 5 and answer["duplicates"] == 0
    assert [(r["line"], r["code"]) for r in answer["rejected"]] == [
        (3, "sample_not_found"), (4, "result_conflict"), (5, "validation_error")
    ]


async def test_batch_body_shapes(testing):
    assert (await testing.post("/api/v1/samples/batch", content=b"<xml/>", headers={**LAB, "Content-Type": "application/xml"})).status_code == 415
    assert (await testing.post("/api/v1/samples/batch", content=b"{", headers={**LAB, "Content-Type": "application/json"})).json()["code"] == "invalid_json"
    assert (await testing.post("/api/v1/samples/batch", json={"a": 1}, headers=LAB)).status_code == 422
    empty = (await testing.post("/api/v1/results/batch", content=b"", headers=NDJSON)).json()
    assert empty == {"accepted": 0, "duplicates": 0, "rejected": [], "rejected_total": 0}
