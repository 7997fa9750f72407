"""schemathesis against the gateway's merged OpenAPI, every service running: whatever a client
sends, no 5xx, and every error is problem+json with a code.

Each operation is called with cases that fit the schema and cases that do not, as a caller
the route is for (from the authorization matrix), so the fuzzing reaches the handlers.
"""

from __future__ import annotations

import asyncio

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.modes import GenerationMode

from tests.e2e.stack import running_stack
from tests.e2e.test_authorization_matrix import POLICY
from tests.tokens import token

EXAMPLES = 6
PREFERENCE = ("admin", "official", "grid_worker", "lab", "resident", "partner")


def fuzz_operation(operation, base_url: str, headers: dict, failures: list) -> dict:
    """Call ``operation`` with cases that fit its schema and cases that do not; how many of each were sent."""
    session = requests.Session()
    sent = {GenerationMode.POSITIVE: 0, GenerationMode.NEGATIVE: 0}
    for mode in sent:
        strategy = operation.as_strategy(generation_mode=mode)

        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=strategy)
        def run(case):
            response = case.call(base_url=base_url, session=session, headers=headers, timeout=30)
            sent[mode] += 1
            where = f"{case.method} {case.formatted_path} ({mode})"
            if response.status_code >= 500:
                failures.append(f"{where}: {response.status_code} {response.text[:200]}")
            elif response.status_code >= 400:
                kind = response.headers.get("content-type") or ""
                kind = kind[0] if isinstance(kind, list) else kind
                if not kind.startswith("application/problem+json") or "code" not in response.json():
                    failures.append(f"{where}: {response.status_code} is not problem+json: {kind}")

        try:
            run()
        except Unsatisfiable:
            # An operation with nothing a client sends (GET /.well-known/jwks.json) has no invalid case.
            if mode is not GenerationMode.NEGATIVE:
                raise
    return sent


@pytest.mark.slow
async def test_no_5xx_and_problem_json_everywhere(databases, nats_server, home):
    async with running_stack(databases, nats_server.url, home, rate_per_ip=100_000.0, rate_per_principal=100_000.0) as cordon:
        gw = cordon.gateway
        doc = (await gw.get("/openapi.json")).json()
        schema = schemathesis.openapi.from_dict(doc)
        base_url = str(gw.base_url).rstrip("/")
        failures: list[str] = []
        sent: dict[tuple[str, str], dict] = {}
        for result in schema.get_all_operations():
            operation = result.ok()
            allowed = POLICY[(operation.method.upper(), operation.path)]
            role = next((r for r in PREFERENCE if r in allowed), None)
            headers = {}
            if role:
                claims = {"regions": ["320413"], "username": f"fuzz-{role}"} if role in ("official", "grid_worker") else {}
                if role == "resident":
                    claims = {"phone_index": "0" * 64}
                headers = {"Authorization": f"Bearer {token(role, home=home, **claims)}"}
            # The services share this event loop: the blocking client runs in a thread.
            sent[(operation.method.upper(), operation.path)] = await asyncio.to_thread(
                fuzz_operation, operation, base_url, headers, failures)
        assert not failures, "\n".join(failures[:40])
        # The fuzzing did happen: every operation got cases that fit, and most got cases that do not.
        assert set(sent) == set(POLICY)
        assert all(n[GenerationMode.POSITIVE] > 0 for n in sent.values()), [k for k, n in sent.items() if not n[GenerationMode.POSITIVE]]
        negative = [k for k, n in sent.items() if n[GenerationMode.NEGATIVE] > 0]
        assert len(negative) >= len(sent) // 2, f"negative cases for only {len(negative)} of {len(sent)} operations"
