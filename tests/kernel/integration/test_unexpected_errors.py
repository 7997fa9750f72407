"""An unexpected error is an ordinary 500 problem+json with the request id, and the connection lives on.

Starlette's ServerErrorMiddleware re-raised after answering, and uvicorn then closed the
connection: a proxy's pooled connection died, and the next caller on it got a 502.
"""

from __future__ import annotations

import asyncio

import orjson
from sqlalchemy import text

from tests.serving import start_service
from tests.tokens import bearer

OFFICIAL = bearer("official", regions=["320413"], username="o")


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str, headers: dict) -> tuple[int, dict, bytes]:
    """One HTTP/1.1 request on an open connection, and its answer (status, headers, body)."""
    lines = [f"GET {path} HTTP/1.1", "Host: test", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    writer.write("\r\n".join(lines).encode())
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    status_line, *header_lines = head.decode().split("\r\n")
    answer = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in header_lines if line)}
    body = await asyncio.wait_for(reader.readexactly(int(answer["content-length"])), 10)
    return int(status_line.split()[1]), answer, body


async def test_a_500_is_problem_json_with_the_request_id_and_keeps_the_connection(databases, nats_server):
    async with start_service("registry", databases, nats_server.url, ticker_interval_s=0) as registry:
        engine = registry.app.state.engine
        async with engine.begin() as conn:  # a real fault under a read: its table is gone
            await conn.execute(text("ALTER TABLE risk_area RENAME TO risk_area_away"))
        try:
            reader, writer = await asyncio.open_connection(registry.base_url.host, registry.base_url.port)
            try:
                status, headers, body = await _exchange(reader, writer, "/api/v1/risk-areas", {**OFFICIAL, "X-Request-ID": "boom-1"})
                assert status == 500, body
                assert headers["content-type"] == "application/problem+json"
                problem = orjson.loads(body)
                assert problem["code"] == "internal_error" and problem["request_id"] == "boom-1"
                assert headers["x-request-id"] == "boom-1" and headers.get("connection") != "close"
                # The same connection answers the next request.
                status, _, body = await _exchange(reader, writer, "/healthz", {})
                assert status == 200 and orjson.loads(body)["status"] == "ok"
            finally:
                writer.close()
        finally:
            async with engine.begin() as conn:
                await conn.execute(text("ALTER TABLE risk_area_away RENAME TO risk_area"))
        assert (await registry.get("/api/v1/risk-areas", headers=OFFICIAL)).status_code == 200
