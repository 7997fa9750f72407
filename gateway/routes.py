"""The route table: which service answers which path prefix under /api/v1."""

from __future__ import annotations

UPSTREAMS = ("registry", "testing", "events", "notify")
