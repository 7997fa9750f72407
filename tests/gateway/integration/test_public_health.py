"""What the gateway shows the public about its health: states without addresses or error texts,
no metrics without the token (or an internal port), and no log line per readiness probe."""

from __future__ import annotations

import logging
import os
import signal

import httpx

from cordon.natsserver import free_port
from tests.serving import start_service


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_readyz_names_states_only_and_probes_write_no_httpx_lines(databases, nats_server, registry):
    dead_port = free_port()
    dead = f"http://127.0.0.1:{dead_port}"  # nothing listens here
    async with start_service(
        "gateway", databases, nats_server.url, admin_password="admin-password-for-tests",
        registry_url=str(registry.base_url).rstrip("/"), testing_url=dead, events_url=dead, notify_url=dead,
    ) as gateway:
        records = Records()
        logging.getLogger("httpx").addHandler(records)
        try:
            response = await gateway.get("/readyz")
        finally:
            logging.getLogger("httpx").removeHandler(records)
        assert response.status_code == 503
        checks = response.json()["checks"]
        assert checks["database"] == "ok" and checks["nats"] == "ok"
        assert checks["registry"] in ({"status": "ok"}, {"status": "unreachable"})  # a probe times out at 2 s under load
        assert {name: checks[name] for name in ("testing", "events", "notify")} == {
            "testing": {"status": "unreachable"}, "events": {"status": "unreachable"}, "notify": {"status": "unreachable"},
        }
        assert str(dead_port) not in response.text and "127.0.0.1" not in response.text and "Error" not in response.text
        assert [r.getMessage() for r in records.records if r.levelno < logging.WARNING] == []


async def test_readyz_hides_the_error_text_of_its_own_checks(databases, nats_server, registry):
    async with start_service(
        "gateway", databases, nats_server.url, admin_password="admin-password-for-tests",
        registry_url=str(registry.base_url).rstrip("/"),
    ) as gateway:
        os.kill(nats_server.process.pid, signal.SIGSTOP)  # frozen: the JetStream round trip times out
        try:
            response = await gateway.get("/readyz")
        finally:
            os.kill(nats_server.process.pid, signal.SIGCONT)
    assert response.status_code == 503
    assert response.json()["checks"]["nats"] == "unavailable"  # a state; the service's own /readyz says TimeoutError


async def test_metrics_need_the_token_and_are_served_on_an_internal_port(databases, nats_server, registry):
    port = free_port()
    async with start_service(
        "gateway", databases, nats_server.url, admin_password="admin-password-for-tests",
        registry_url=str(registry.base_url).rstrip("/"), metrics_token="scrape-secret", metrics_port=port,
        metrics_host="127.0.0.1",
    ) as gateway:
        anonymous = await gateway.get("/metrics")
        assert anonymous.status_code == 401 and anonymous.json()["code"] == "unauthenticated"
        wrong = await gateway.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        scraped = await gateway.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
        assert scraped.status_code == 200 and "cordon_http_requests_total" in scraped.text
        async with httpx.AsyncClient() as client:
            internal = await client.get(f"http://127.0.0.1:{port}/metrics")
        assert internal.status_code == 200 and "cordon_http_requests_total" in internal.text
    async with httpx.AsyncClient() as client:  # stopped with the process
        try:
            await client.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
            raise AssertionError("the metrics port outlived its process")
        except httpx.ConnectError:
            pass
