"""The route table: which service answers which path under /api/v1, with its timeout and body limit.

Patterns are path segments; "*" stands for any one segment (an id). The most
specific pattern wins, so /persons/{id}/tests goes to testing while the rest of
/persons goes to the registry. A test walks every service's OpenAPI paths through
this table, so a new route cannot be left without a home.
"""

from __future__ import annotations

from dataclasses import dataclass

UPSTREAMS = ("registry", "testing", "events", "notify")

MB = 1024 * 1024


@dataclass(frozen=True)
class Route:
    pattern: tuple[str, ...]
    upstream: str
    timeout_s: float = 30.0
    max_body: int = 1 * MB
    api_key: bool = False  # a partner's X-API-Key is accepted here (and only here)
    scope: str | None = None  # the scope a partner key needs here

    @property
    def label(self) -> str:
        """The route's prefix as a metrics label, e.g. /persons/{}/tests/... (the services label theirs without /api/v1)"""
        return "/" + "/".join("{}" if p == "*" else p for p in self.pattern) + "/..."

    def matches(self, segments: list[str]) -> bool:
        return len(segments) >= len(self.pattern) and all(
            p == "*" or p == s for p, s in zip(self.pattern, segments)
        )


_TABLE = [
    Route(("persons", "*", "tests"), "testing"),
    Route(("persons", "*", "negative-proof"), "testing"),
    Route(("persons", "*", "gatherings"), "events"),
    Route(("persons",), "registry"),
    Route(("me", "tests"), "testing"),
    Route(("me", "negative-proof"), "testing"),
    Route(("me", "notifications"), "notify"),
    Route(("me", "worklist"), "notify"),  # notify keeps the worklist (a read model of every service's events)
    Route(("me",), "registry"),
    Route(("risk-areas",), "registry"),
    Route(("travel-records", "batch"), "registry", timeout_s=1800.0, max_body=2048 * MB, api_key=True, scope="travel_records"),
    Route(("health-code", "verify"), "registry", timeout_s=5.0, max_body=8 * 1024, api_key=True, scope="gate"),
    Route(("measures",), "registry"),
    Route(("policies",), "registry"),
    Route(("regions", "import"), "registry", timeout_s=1800.0, max_body=512 * MB),
    Route(("regions",), "registry"),
    Route(("follow-ups",), "registry"),
    Route(("daily-reports",), "registry"),
    Route(("audit",), "registry"),
    Route(("stats",), "registry"),
    Route(("leads", "import"), "registry", timeout_s=1800.0, max_body=512 * MB),
    Route(("leads",), "registry"),
    Route(("samples", "batch"), "testing", timeout_s=600.0, max_body=512 * MB),
    Route(("samples",), "testing"),
    Route(("results", "batch"), "testing", timeout_s=600.0, max_body=512 * MB),
    Route(("results",), "testing"),
    Route(("test-schedules",), "testing"),
    Route(("gatherings",), "events"),
    Route(("notifications",), "notify"),
]
ROUTES: tuple[Route, ...] = tuple(sorted(_TABLE, key=lambda r: -len(r.pattern)))


def resolve(path: str) -> Route | None:
    """The route for a path under /api/v1 (given without that prefix), or None."""
    segments = [s for s in path.split("/") if s]
    return next((r for r in ROUTES if r.matches(segments)), None)
