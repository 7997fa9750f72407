"""One OpenAPI document for all of Cordon: the gateway's own routes and every service's, merged."""

from __future__ import annotations

import asyncio
import copy
import time

import httpx

from cordon import apidoc
from cordon.app import API_PREFIX
from cordon.auth import STAFF
from gateway import routes

CACHE_S = 30.0


class MergeConflict(ValueError):
    """Two documents disagree: a schema name with two shapes, or one operation id or route twice."""


def merge(own: dict, upstream_docs: dict[str, dict]) -> dict:
    """Paths side by side, one set of schemas. A name two documents give different shapes fails the
    merge (a generated client would get one of them wrong), as does an operation id or route twice."""
    merged = copy.deepcopy(own)
    paths = merged.setdefault("paths", {})
    schemas = merged.setdefault("components", {}).setdefault("schemas", {})
    owners = {name: "gateway" for name in schemas}
    operation_ids = {op["operationId"]: "gateway" for item in paths.values() for op in item.values() if isinstance(op, dict) and "operationId" in op}
    for service, doc in upstream_docs.items():
        for name, schema in doc.get("components", {}).get("schemas", {}).items():
            if name in schemas and schemas[name] != schema:
                raise MergeConflict(f"schema {name!r} has different shapes in {owners[name]} and {service}")
            schemas.setdefault(name, schema)
            owners.setdefault(name, service)
        for path, item in doc.get("paths", {}).items():
            target = paths.setdefault(path, {})
            for method, op in item.items():
                if method in target:
                    raise MergeConflict(f"{method.upper()} {path} is in two documents ({service} and another)")
                target[method] = op
                if isinstance(op, dict) and "operationId" in op:
                    if op["operationId"] in operation_ids:
                        raise MergeConflict(f"operation id {op['operationId']!r} is in {operation_ids[op['operationId']]} and {service}")
                    operation_ids[op["operationId"]] = service
                    _through_gateway(path, op)
    merged["components"]["securitySchemes"] = {
        "HTTPBearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                       "description": "访问令牌 / access token: POST /api/v1/auth/token, /auth/resident-token"},
        "PartnerKey": {"type": "apiKey", "in": "header", "name": "X-API-Key",
                       "description": "合作方密钥 / a partner's API key (POST /api/v1/auth/partners)"},
    }
    return merged


def _through_gateway(path: str, op: dict) -> None:
    """What the gateway adds to every proxied operation: its limits, and X-API-Key where it takes one."""
    route = routes.resolve(path.removeprefix(API_PREFIX + "/"))
    roles = op.get("x-roles")
    if route is not None and route.api_key and roles:
        partner_only = set(roles) == {"partner"}
        op["security"] = [{"PartnerKey": []}] if partner_only else [{"HTTPBearer": []}, {"PartnerKey": []}]
        apidoc.add_problems(op, 401, ["invalid_api_key"])
        apidoc.add_problems(op, 403, ["scope_missing"])
    if "resident" in (roles or ()):
        apidoc.add_problems(op, 401, ["token_revoked"])  # a resident's token after their phone changed
    if set(roles or ()) & set(STAFF):
        apidoc.add_problems(op, 401, ["account_disabled"])  # a staff token after `cordon users deactivate`
    apidoc.add_problems(op, 429, ["rate_limited"])
    if "requestBody" in op:
        apidoc.add_problems(op, 413, ["payload_too_large"])
    op["responses"] = dict(sorted(op["responses"].items()))


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
