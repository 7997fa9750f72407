"""What Prometheus reads: the gauges (outbox backlog and age, dead letters, inbox lag, breakers) and
route labels that are the services' route templates, also for requests the gateway proxies."""

from __future__ import annotations

import re
import uuid

import pytest

from cordon.app import create_service_app
from cordon.natsserver import free_port
from tests.kernel.integration import noteapp
from tests.serving import eventually, serve, settled, start_service
from tests.tokens import bearer


@pytest.fixture(autouse=True)
def _fast_gauges(monkeypatch):
    monkeypatch.setenv("CORDON_METRICS_REFRESH_S", "0.1")


def sample(metrics: str, name: str, **labels: str) -> float | None:
    """The value of one sample of ``name`` with exactly ``labels``, or None."""
    for line in metrics.splitlines():
        match = re.match(rf"^{name}(?:\{{(.*)\}})? (\S+)$", line)
        if match and dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or "")) == labels:
            return float(match.group(2))
    return None


async def gauge(client, name: str, expected: float, **labels: str) -> None:
    async def seen():
        return sample((await client.get("/metrics")).text, name, **labels) == expected

    await eventually(seen, timeout=20)


async def test_outbox_backlog_dead_letters_and_inbox_lag(databases, nats_server):
    notes_url, tally_url, waiting_url = await databases.new("notes"), await databases.new("tally"), await databases.new("waiting")
    for url in (notes_url, tally_url, waiting_url):
        await noteapp.create_schema(url)
    apps = noteapp.notes_app(notes_url, nats_server.url), noteapp.tally_app(tally_url, nats_server.url)
    async with serve(apps[0]) as notes, serve(apps[1]) as tally:
        for text in ("poison", "fine", "poison"):
            await notes.post("/api/v1/notes", json={"text": text})
        await settled(nats_server.url, *apps)
        await gauge(tally, "cordon_dead_letters", 2, service="tally", consumer="tally-notes")
        await gauge(tally, "cordon_inbox_lag", 0, service="tally", consumer="tally-notes")
        await gauge(notes, "cordon_outbox_unsent", 0, service="notes")
        await gauge(notes, "cordon_outbox_oldest_unsent_age_seconds", 0, service="notes")

    # Without NATS its events wait in the outbox.
    app = create_service_app(settings=noteapp.make_settings("waiting", database_url=waiting_url, nats_url=None),
                             routers=[noteapp.router])
    async with serve(app) as client:
        for text in ("a", "b"):
            await client.post("/api/v1/notes", json={"text": text})
        await gauge(client, "cordon_outbox_unsent", 2, service="waiting")

        async def aged():
            age = sample((await client.get("/metrics")).text, "cordon_outbox_oldest_unsent_age_seconds", service="waiting")
            return age is not None and age > 0

        await eventually(aged)


async def test_gateway_labels_proxied_requests_with_the_services_route_templates(databases):
    closed = f"http://127.0.0.1:{free_port()}"
    async with start_service("registry", databases, None) as registry:
        async with start_service("gateway", databases, None, registry_url=str(registry.base_url).rstrip("/"),
                                 testing_url=closed) as gateway:
            official = bearer("official", regions=["110101"])
            found = {"service": "gateway", "method": "GET", "route": "/persons/{person_id}", "status": "404"}
            before = sample((await gateway.get("/metrics")).text, "cordon_http_requests_total", **found) or 0
            answer = await gateway.get(f"/api/v1/persons/{uuid.uuid4()}", headers=official)
            assert answer.status_code == 404
            assert "x-cordon-route" not in answer.headers  # the template is the gateway's label, not the caller's
            metrics = (await gateway.get("/metrics")).text
            assert sample(metrics, "cordon_http_requests_total", **found) == before + 1
            assert "{path:path}" not in metrics

            # testing is down: the route table's label, and the breaker gauge opens after five failures.
            failed = {"service": "gateway", "method": "GET", "route": "/persons/{}/tests/...", "status": "502"}
            before = sample((await gateway.get("/metrics")).text, "cordon_http_requests_total", **failed) or 0
            for _ in range(5):
                down = await gateway.get(f"/api/v1/persons/{uuid.uuid4()}/tests", headers=official)
                assert down.status_code == 502
            await gauge(gateway, "cordon_upstream_breaker_open", 1, upstream="testing")
            await gauge(gateway, "cordon_upstream_breaker_open", 0, upstream="registry")
            metrics = (await gateway.get("/metrics")).text
            assert sample(metrics, "cordon_http_requests_total", **failed) == before + 5


async def _insert(url: str, rows) -> None:
    from cordon import db

    engine = db.create_engine(url)
    try:
        async with db.create_sessionmaker(engine)() as session, session.begin():
            session.add_all(rows)
    finally:
        await engine.dispose()


async def test_registry_gauges_leads_overdue_and_reports_missing(databases):
    from datetime import timedelta

    from cordon.clock import local_date, utcnow
    from services.registry.models import DailyReport, Lead, ReportNotice

    now = utcnow()
    today = local_date(now)

    def lead(status: str, due_in: timedelta) -> Lead:
        return Lead(id=uuid.uuid4(), match_key=f"id:{uuid.uuid4().hex}", source="import", reasons=[], status=status,
                    due_at=now + due_in, created_at=now, updated_at=now)

    async with start_service("registry", databases, None, ticker_interval_s=0) as registry:
        await _insert(registry.app_settings.database_url, [
            lead("open", -timedelta(hours=2)), lead("open", -timedelta(minutes=1)), lead("open", timedelta(hours=3)),
            lead("closed", -timedelta(hours=5)),
            *(ReportNotice(region_code=code, report_on=today, kind="missing", sent_at=now)
              for code in ("320413100201", "320413100202", "320413001001")),
            ReportNotice(region_code="320413001002", report_on=today, kind="reminder", sent_at=now),
            DailyReport(region_code="320413001001", report_on=today, zero=True, counts={}, late=True, submitted_at=now,
                        submitted_by="wang.grid"),  # reported after being told missing
        ])
        await gauge(registry, "cordon_leads_overdue", 2)
        await gauge(registry, "cordon_reports_missing", 2)


async def test_notify_gauges_queued_and_failed_by_channel(databases):
    from datetime import timedelta

    from cordon.clock import utcnow
    from services.notify.models import Notification

    now = utcnow()

    def notification(channel: str, status: str) -> Notification:
        return Notification(id=uuid.uuid4(), source=uuid.uuid4().hex, recipient="wang.grid", recipient_type="staff",
                            channel=channel, kind="test", title="t", body="b", status=status, attempts=1,
                            next_attempt_at=now + timedelta(days=1), created_at=now)  # not due: no worker takes it

    async with start_service("notify", databases, None) as notify:
        await _insert(notify.app_settings.database_url, [
            notification("sms", "queued"), notification("sms", "queued"), notification("sms", "failed"),
            notification("wechat", "failed"), notification("inbox", "sent"),
        ])
        await gauge(notify, "cordon_notifications", 2, channel="sms", status="queued")
        await gauge(notify, "cordon_notifications", 1, channel="sms", status="failed")
        await gauge(notify, "cordon_notifications", 1, channel="wechat", status="failed")
        await gauge(notify, "cordon_notifications", 0, channel="wechat", status="queued")
