"""`cordon up` from an empty directory: NATS, migrations, five processes ready; a crashed child
comes back; SIGTERM stops everything cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from cordon.natsserver import free_port, port_open
from cordon.runner import ports


def free_block(size: int = 5) -> int:
    for _ in range(50):
        base = free_port()
        if base + size < 65000 and not any(port_open(base + i) for i in range(size)):
            return base
    raise RuntimeError("no free block of ports")


def wait_ready(url: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{url}/readyz", timeout=2)
            last = response.json()
            if response.status_code == 200:
                return last
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.2)
    raise AssertionError(f"{url} not ready: {last}")


@pytest.mark.slow
def test_runner_cold_start_restart_and_clean_stop(tmp_path):
    gateway_port = free_block()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORDON_")}
    env["CORDON_LOG_LEVEL"] = "WARNING"
    log = open(tmp_path / "up.log", "wb")
    runner = subprocess.Popen(
        [sys.executable, "-m", "cordon", "up", "--port", str(gateway_port)], cwd=tmp_path, env=env, stdout=log, stderr=log
    )
    try:
        urls = {name: f"http://127.0.0.1:{port}" for name, port in ports(gateway_port).items()}
        for name, url in urls.items():
            body = wait_ready(url)
            assert body["service"] == name
        gateway = wait_ready(urls["gateway"])
        assert all(gateway["checks"][name]["status"] == "ok" for name in ("registry", "testing", "events", "notify"))
        assert (tmp_path / ".cordon" / "data" / "registry.db").exists()  # the embedded default: files under .cordon

        # A child that dies is started again.
        pid = httpx.get(f"{urls['testing']}/healthz").json()["pid"]
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while True:
            try:
                new_pid = httpx.get(f"{urls['testing']}/healthz", timeout=1).json()["pid"]
                if new_pid != pid:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "testing was not restarted"
            time.sleep(0.2)
        wait_ready(urls["testing"])

        runner.send_signal(signal.SIGTERM)
        assert runner.wait(30) == 0
        assert not any(port_open(port) for port in ports(gateway_port).values())
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
        log.close()
    output = (tmp_path / "up.log").read_text()
    assert "Cordon is starting" in output and "stopped" in output


def test_runner_refuses_a_taken_port_with_one_line(tmp_path):
    gateway_port = free_block()
    taken = ports(gateway_port)["testing"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORDON_")}
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", taken))
        holder.listen()
        done = subprocess.run(
            [sys.executable, "-m", "cordon", "up", "--port", str(gateway_port)],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
        )
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert f"port {taken}" in lines[0] and "testing" in lines[0] and "CORDON_GATEWAY_PORT" in lines[0]
    assert not (tmp_path / ".cordon" / "nats").exists()  # nothing was started


@pytest.mark.slow
def test_ctrl_c_stops_the_services_first_and_nats_last(tmp_path):
    """A Ctrl-C in a terminal signals the whole foreground process group: the runner, and whatever
    shares its group. NATS must not hear it: the runner stops the services, then NATS, so no service
    sees NATS go away while it stops."""
    gateway_port = free_block()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORDON_")}
    env["CORDON_LOG_LEVEL"] = "WARNING"
    log = open(tmp_path / "up.log", "wb")
    runner = subprocess.Popen(
        [sys.executable, "-m", "cordon", "up", "--port", str(gateway_port)], cwd=tmp_path, env=env, stdout=log, stderr=log,
        start_new_session=True,  # its own process group, as a shell gives a foreground job
    )
    try:
        for port in ports(gateway_port).values():
            wait_ready(f"http://127.0.0.1:{port}")
        os.killpg(runner.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
        assert runner.wait(30) == 0
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
        log.close()
    output = (tmp_path / "up.log").read_text()
    assert "services stopped; stopping nats-server" in output, output[-3000:]
    assert "nats-server had stopped already" not in output
    assert "disconnected from NATS" not in output and "cannot reach NATS" not in output, output[-3000:]
    assert output.rstrip().endswith("[cordon] stopped"), output[-3000:]


@pytest.mark.slow
def test_cordon_up_in_production_starts_with_its_secrets_and_a_nats_that_asks_for_them(tmp_path):
    """deploy/.env.example filled in, without a NATS of one's own: `cordon up` starts every process, and its
    nats-server lets in only the credentials the processes present."""
    import asyncio
    import re

    import nats

    from tests.deploy.test_compose import _env_example

    gateway_port = free_block()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORDON_")}
    env.update(_env_example(tmp_path))
    del env["CORDON_NATS_URL"]
    env["CORDON_LOG_LEVEL"] = "WARNING"
    log = open(tmp_path / "up.log", "wb")
    runner = subprocess.Popen(
        [sys.executable, "-m", "cordon", "up", "--port", str(gateway_port)], cwd=tmp_path, env=env, stdout=log, stderr=log
    )
    try:
        gateway = wait_ready(f"http://127.0.0.1:{gateway_port}")
        assert gateway["checks"]["nats"] == "ok" and gateway["checks"]["registry"] == {"status": "ok"}
        url = re.search(r"nats-server \(JetStream\) on (nats://\S+),", (tmp_path / "up.log").read_text()).group(1)

        async def anonymous() -> str:
            try:
                nc = await nats.connect(url, allow_reconnect=False, connect_timeout=2, max_reconnect_attempts=0)
            except Exception as exc:  # noqa: BLE001 - the refusal is the point
                return type(exc).__name__
            await nc.close()
            return "connected"

        assert asyncio.run(anonymous()) != "connected"
        runner.send_signal(signal.SIGTERM)
        assert runner.wait(30) == 0
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
        log.close()
    assert not (tmp_path / "home" / "admin-password").exists()  # production's admin password is the operator's
