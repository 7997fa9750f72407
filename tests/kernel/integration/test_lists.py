"""Every list route of every service and the gateway is paged the one way: ?limit=&cursor= in,
{items, next_cursor} out; nothing answers a bare array."""

from __future__ import annotations

import pytest

from cordon import services
from cordon.settings import SERVICES


def _openapi(service: str, tmp_path) -> dict:
    settings = services.settings_class(service)(database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", nats_url="nats://127.0.0.1:1")
    module = __import__(services.app_path(service).split(":")[0], fromlist=["create_app"])
    return module.create_app(settings).openapi()


def _schema(document: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


@pytest.mark.parametrize("service", SERVICES)
def test_every_list_is_a_page(service, tmp_path):
    document = _openapi(service, tmp_path)
    lists = 0
    for path, operations in document["paths"].items():
        get = operations.get("get")
        if get is None:
            continue
        content = get["responses"].get("200", {}).get("content", {}).get("application/json")
        if content is None:
            continue
        schema = _schema(document, content["schema"])
        assert schema.get("type") != "array", f"GET {path} answers a bare array"
        if "items" not in schema.get("properties", {}):
            continue
        lists += 1
        assert set(schema["properties"]) >= {"items", "next_cursor"}, f"GET {path} has no next_cursor"
        params = {p["name"] for p in get.get("parameters", []) if p["in"] == "query"}
        assert {"limit", "cursor"} <= params, f"GET {path} takes no limit/cursor"
    assert lists, "no list route found: the check would look at nothing"
