"""/readyz asks NATS (a JetStream round trip), not the client's connection flag: a frozen server is not ready."""

from __future__ import annotations

import os
import signal

from tests.kernel.integration import noteapp
from tests.serving import eventually, serve


async def _nats_check(client) -> str:
    return (await client.get("/readyz")).json()["checks"]["nats"]


async def test_readyz_is_503_while_nats_is_frozen_and_ready_again_after(databases, nats_server):
    url = await databases.new("notes")
    await noteapp.create_schema(url)
    async with serve(noteapp.notes_app(url, nats_server.url)) as notes:
        await eventually(lambda: _ready(notes))
        os.kill(nats_server.process.pid, signal.SIGSTOP)  # frozen: the TCP connection stays up
        try:
            response = await notes.get("/readyz")
            assert response.status_code == 503
            assert response.json()["checks"]["nats"].startswith("unavailable")
            assert response.json()["checks"]["database"] == "ok"
        finally:
            os.kill(nats_server.process.pid, signal.SIGCONT)
        await eventually(lambda: _ready(notes))


async def _ready(client) -> bool:
    response = await client.get("/readyz")
    return response.status_code == 200 and response.json()["checks"]["nats"] == "ok"

