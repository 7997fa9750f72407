"""A partner push with a 64 MB line: that line is refused by its number, the lines around it are kept."""

from __future__ import annotations

from datetime import date

import orjson

from tests.registry.integration.people import PARTNER, phone


async def test_a_64_mb_line_is_refused_by_number_and_the_rest_of_the_push_is_kept(registry):
    today = date.today().isoformat()

    def line(n: int) -> bytes:
        return orjson.dumps({"record_id": f"long-{n}", "phone": phone(), "region_code": "420106",
                             "first_seen": today, "last_seen": today}) + b"\n"

    async def body():
        yield line(1)
        piece = b"x" * (1024 * 1024)
        for _ in range(64):  # line 2: 64 MB, no newline until its end
            yield piece
        yield b"\n" + line(3) + line(4)

    response = await registry.post("/api/v1/travel-records/batch", content=body(),
                                   headers={**PARTNER, "content-type": "application/x-ndjson"})
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["accepted"] == 3 and result["rejected_total"] == 1
    assert [(r["line"], r["code"]) for r in result["rejected"]] == [(2, "line_too_long")]
