"""schemathesis against each service's own OpenAPI, the service running on real NATS and a real
database: operations one by one (cases that fit the schema and cases that do not), then chained
by the links schemathesis infers (a person created, then read, patched, given measures...), with
dates drawn around the domain's bounds (year 1, 2018-12-31, 2019-01-01, ten years ahead, 9999,
times at +14:00 and -14:00). Whatever is sent: no 5xx, every error problem+json with a code.

Bounded for CI: a fixed number of examples per operation and of stateful runs, derandomized.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.core.errors import NoLinksFound

from cordon import bounds
from tests.e2e.test_authorization_matrix import POLICY
from tests.e2e.test_fuzz import PREFERENCE, fuzz_operation
from tests.serving import start_service
from tests.tokens import token

STATEFUL_RUNS = 15
STATEFUL_STEPS = 6


def _boundary_days() -> list[str]:
    latest = bounds.latest()
    today = date.today()
    days = [date(1, 1, 1), date(2018, 12, 31), bounds.EARLIEST, today - timedelta(days=15), today, latest,
            latest + timedelta(days=1), date(9999, 12, 31), date(2099, 1, 1), date(1900, 1, 1)]
    return [d.isoformat() for d in days]


BOUNDARY_DAYS = _boundary_days()
BOUNDARY_TIMES = (
    [f"{d}T00:00:00+14:00" for d in BOUNDARY_DAYS] + [f"{d}T23:59:59-14:00" for d in BOUNDARY_DAYS]
    + [f"{d}T08:00:00+08:00" for d in BOUNDARY_DAYS] + ["2022-01-01T00:00:00"]
)
schemathesis.openapi.format("date", st.one_of(st.sampled_from(BOUNDARY_DAYS), st.dates().map(date.isoformat)))
schemathesis.openapi.format("date-time", st.sampled_from(BOUNDARY_TIMES))

FUZZ = settings(max_examples=STATEFUL_RUNS, stateful_step_count=STATEFUL_STEPS, deadline=None, database=None,
                derandomize=True, suppress_health_check=list(HealthCheck))


def caller(method: str, path: str, home) -> dict:
    """The token of a role the route is for (so the fuzzing reaches the handlers), as test_fuzz does."""
    allowed = POLICY.get((method.upper(), path), set())
    role = next((r for r in PREFERENCE if r in allowed), None)
    if role is None:
        return {}
    claims = {"regions": ["320413"], "username": f"fuzz-{role}"} if role in ("official", "grid_worker") else {}
    if role == "resident":
        claims = {"phone_index": "0" * 64}
    return {"Authorization": f"Bearer {token(role, home=home, **claims)}"}


def problems(response, where: str) -> list[str]:
    if response.status_code >= 500:
        return [f"{where}: {response.status_code} {response.text[:200]}"]
    if response.status_code >= 400:
        kind = response.headers.get("content-type") or ""
        kind = kind[0] if isinstance(kind, list) else kind
        if not kind.startswith("application/problem+json") or "code" not in response.json():
            return [f"{where}: {response.status_code} is not problem+json: {kind}"]
    return []


def run_stateful(schema, base_url: str, home, failures: list[str]) -> int:
    """Calls made by the linked runs; 0 when schemathesis finds no link between the service's operations."""
    session = requests.Session()
    calls = 0
    try:
        base = schema.as_state_machine()
    except NoLinksFound:
        return 0

    class Machine(base):
        def get_call_kwargs(self, case):
            return {"base_url": base_url, "session": session, "timeout": 30,
                    "headers": caller(case.operation.method, case.operation.path, home)}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            nonlocal calls
            calls += 1
            failures.extend(problems(response, f"stateful {case.method} {case.formatted_path}"))

    try:
        Machine.run(settings=FUZZ)
    except NoLinksFound:
        return 0
    return calls


@pytest.mark.slow
@pytest.mark.parametrize("service", ["registry", "testing", "events", "notify"])
async def test_each_service_no_5xx_with_links_and_boundary_dates(service, databases, nats_server, home):
    extra = {"ticker_interval_s": 0} if service == "registry" else {}
    async with start_service(service, databases, nats_server.url, home=home, **extra) as client:
        schema = schemathesis.openapi.from_dict((await client.get("/openapi.json")).json())
        base_url = str(client.base_url).rstrip("/")
        failures: list[str] = []
        operations = [result.ok() for result in schema.get_all_operations()]
        for operation in operations:
            headers = caller(operation.method, operation.path, home)
            # The service shares this event loop: the blocking client runs in a thread.
            await asyncio.to_thread(fuzz_operation, operation, base_url, headers, failures)
        calls = await asyncio.to_thread(run_stateful, schema, base_url, home, failures)
        linked = f"{calls} calls in {STATEFUL_RUNS} linked runs" if calls else "no links inferred between its operations"
        print(f"{service}: {len(operations)} operations fuzzed one by one, {linked}; {len(failures)} failures")
        assert not failures, "\n".join(failures[:40])
