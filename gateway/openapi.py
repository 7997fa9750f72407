"""One OpenAPI document for all of Cordon: the gateway's own routes and every service's, merged."""

from __future__ import annotations

import asyncio
import copy
import time

import httpx
import orjson

CACHE_S = 30.0


def merge(own: dict, upstream_docs: dict[str, dict]) -> dict:
    """Paths side by side; a schema name two services use for different shapes is prefixed with the service."""
    merged = copy.deepcopy(own)
    paths = merged.setdefault("paths", {})
    schemas = merged.setdefault("components", {}).setdefault("schemas", {})
    for service, doc in upstream_docs.items():
        doc_schemas = doc.get("components", {}).get("schemas", {})
        renames = {n: f"{service}_{n}" for n, s in doc_schemas.items() if n in schemas and schemas[n] != s}
        if renames:
            raw = orjson.dumps(doc).decode()
            for old, new in renames.items():
                raw = raw.replace(f'"#/components/schemas/{old}"', f'"#/components/schemas/{new}"')
            doc = orjson.loads(raw)
            doc_schemas = {renames.get(n, n): s for n, s in doc.get("components", {}).get("schemas", {}).items()}
        for name, schema in doc_schemas.items():
            schemas.setdefault(name, schema)
        for path, item in doc.get("paths", {}).items():
            paths[path] = {**item, **{m: {**op, "tags": op.get("tags") or [service]} for m, op in item.items() if isinstance(op, dict)}}
        for name, scheme in doc.get("components", {}).get("securitySchemes", {}).items():
            merged["components"].setdefault("securitySchemes", {})[name] = scheme
    merged["components"].setdefault("securitySchemes", {}).update(
        {
            "HTTPBearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            "PartnerKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        }
    )
    return merged


class MergedSchema:
    """Fetches the services' documents (at most every CACHE_S) and merges them with the gateway's."""

    def __init__(self, client: httpx.AsyncClient, urls: dict[str, str]) -> None:
        self.client = client
        self.urls = urls
        self._doc: dict | None = None
        self._at = 0.0
        self._lock = asyncio.Lock()

    async def get(self, own: dict) -> dict:
        async with self._lock:
            if self._doc is None or time.monotonic() - self._at > CACHE_S:
                docs = await asyncio.gather(*(self._fetch(u) for u in self.urls.values()))
                self._doc = merge(own, {n: d for n, d in zip(self.urls, docs) if d})
                self._doc.setdefault("info", {})["x-missing-services"] = [n for n, d in zip(self.urls, docs) if not d]
                self._at = time.monotonic()
            return self._doc

    async def _fetch(self, url: str) -> dict | None:
        try:
            response = await self.client.get(f"{url}/openapi.json", timeout=5)
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError):
            return None
