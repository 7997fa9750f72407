"""Fault (e): `cordon up`'s nats-server killed (SIGKILL); the runner brings it back and the outboxes drain.

People registered through the gateway while NATS is dead are answered 201 (their events wait
in the registry's outbox); the runner restarts nats-server on the same port and store, and
every one of those events reaches the stream, once; no outbox keeps an unsent row.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from cordon import pii
from cordon.runner import ports
from tests.e2e.test_cold_start import free_block, wait_ready
from tests.tokens import token

WRITES = 40


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


def nats_pid(runner_pid: int) -> int | None:
    for child in children(runner_pid):
        try:
            if Path(f"/proc/{child}/comm").read_text().strip() == "nats-server":
                return child
        except FileNotFoundError:
            continue
    return None


def until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what}: not within {timeout}s"
        time.sleep(0.1)


def unsent(data: Path) -> dict[str, int] | None:
    """Unsent outbox rows per service; None while a database is busy (the services write as we read)."""
    counts = {}
    for db in sorted(data.glob("*.db")):
        try:
            with sqlite3.connect(db, timeout=30) as conn:
                counts[db.stem] = conn.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]
        except sqlite3.OperationalError:
            return None
    return counts


def registered_in_stream(nats_url: str) -> list[str]:
    import asyncio

    import nats
    import orjson

    async def read() -> list[str]:
        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            info = await js.stream_info("REGISTRY")
            found = []
            for seq in range(info.state.first_seq, info.state.last_seq + 1):
                msg = await js.get_msg("REGISTRY", seq)
                if msg.subject.endswith("person.registered"):
                    found.append(orjson.loads(msg.data)["data"]["person_id"])
            return found
        finally:
            await nc.close()

    return asyncio.run(read())


@pytest.mark.slow
def test_nats_killed_comes_back_and_the_outboxes_drain(tmp_path):
    gateway_port = free_block()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORDON_")}
    env["CORDON_LOG_LEVEL"] = "WARNING"
    log_path = tmp_path / "up.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed in the finally below
    runner = subprocess.Popen([sys.executable, "-m", "cordon", "up", "--port", str(gateway_port)],
                              cwd=tmp_path, env=env, stdout=log, stderr=log)
    try:
        urls = {name: f"http://127.0.0.1:{port}" for name, port in ports(gateway_port).items()}
        for url in urls.values():
            wait_ready(url)
        nats_url = re.search(r"nats-server \(JetStream\) on (nats://[0-9.]+:[0-9]+)", log_path.read_text()).group(1)
        first = until(lambda: nats_pid(runner.pid), 10, "the runner's nats-server")
        home = tmp_path / ".cordon"
        grid = {"Authorization": f"Bearer {token('grid_worker', home=home, regions=['320413'], username='g1')}"}

        os.kill(first, signal.SIGKILL)
        created = []
        with httpx.Client(base_url=urls["gateway"], timeout=10) as gw:
            for n in range(WRITES):
                first17 = f"32041319800101{n:03d}"
                body = {"id_number": first17 + pii.id_check_character(first17), "name": f"断{n}", "region_code": "320413"}
                response = gw.post("/api/v1/persons", json=body, headers=grid)
                assert response.status_code == 201, response.text
                created.append(response.json()["id"])

        second = until(lambda: (pid := nats_pid(runner.pid)) and pid != first and pid, 60, "nats-server restarted")
        for url in urls.values():
            wait_ready(url)
        drained = until(lambda: (counts := unsent(home / "data")) and not any(counts.values()) and counts, 90, "outboxes drained")
        in_stream = registered_in_stream(nats_url)
        print(f"nats-server {first} killed, {second} started by the runner; {WRITES} people registered meanwhile, "
              f"{len(in_stream)} person.registered in the stream; unsent outbox rows {drained}")
        assert sorted(in_stream) == sorted(created)  # each once
        runner.send_signal(signal.SIGTERM)
        assert runner.wait(30) == 0
    finally:
        if runner.poll() is None:  # a failed assertion: stop it as an operator would, so it stops its children
            runner.send_signal(signal.SIGTERM)
            try:
                runner.wait(30)
            except subprocess.TimeoutExpired:
                runner.kill()
                runner.wait()
        log.close()
    output = log_path.read_text()
    assert re.search(r"nats-server exited with -9; restarting in \d+s", output), output[-2000:]
