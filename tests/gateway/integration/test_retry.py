"""The gateway retries an idempotent request once when the upstream closed the pooled connection under it."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from cordon.natsserver import free_port
from tests.serving import start_service
from tests.tokens import bearer

OFFICIAL = bearer("official", regions=["320413"], username="o")


class ClosingUpstream:
    """A real HTTP/1.1 server on loopback that answers the first request of each connection (keep-alive)
    and closes the connection, unanswered, when a second request arrives on it: as a server does whose
    idle timeout fell just as the proxy reused the connection."""

    def __init__(self) -> None:
        self.requests: list[tuple[int, str]] = []  # (connection number, request line)
        self.connections = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        try:
            for served in range(2):
                head = await reader.readuntil(b"\r\n\r\n")
                request_line = head.split(b"\r\n", 1)[0].decode()
                self.requests.append((number, request_line))
                length = next((int(h.split(b":", 1)[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:")), 0)
                await reader.readexactly(length)
                if served == 1:
                    break  # the reused connection: closed without an answer
                body = b'{"items": []}'
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def upstream():
    server_state = ClosingUpstream()
    server = await asyncio.start_server(server_state.handle, "127.0.0.1", 0)
    server_state.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    async with server:
        yield server_state
        server.close()


@contextlib.asynccontextmanager
async def gateway_to(databases, nats_server, url: str):
    dead = f"http://127.0.0.1:{free_port()}"
    async with start_service(
        "gateway", databases, nats_server.url, admin_password="admin-password-for-tests",
        registry_url=url, testing_url=dead, events_url=dead, notify_url=dead,
    ) as client:
        yield client


async def test_an_idempotent_request_on_a_closed_pooled_connection_is_retried_once(databases, nats_server, upstream):
    async with gateway_to(databases, nats_server, upstream.url) as gw:
        first = await gw.get("/api/v1/risk-areas", headers=OFFICIAL)
        assert first.status_code == 200
        # The pooled connection is reused and closed under the request: retried on a new one.
        second = await gw.get("/api/v1/risk-areas", headers=OFFICIAL)
        assert second.status_code == 200, second.text
        put = await gw.put("/api/v1/risk-areas/420106", json={"level": "high"}, headers=OFFICIAL)
        assert put.status_code == 200, put.text
        print(f"requests seen by the upstream: {upstream.requests}")
        assert [n for n, _ in upstream.requests] == [1, 1, 2, 2, 3]
        # A POST is not repeated by the gateway: the caller learns it failed.
        post = await gw.post("/api/v1/persons", json={"name": "x"}, headers=OFFICIAL)
        assert post.status_code == 502 and post.json()["code"] == "upstream_error"
        assert len(upstream.requests) == 6
