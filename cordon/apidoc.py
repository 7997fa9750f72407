"""The OpenAPI every service shows, shaped for front ends that generate a client from it.

- Operation ids are ``<resource>_<function>`` (``persons_read_health_code``): the router's first tag
  is the resource, the route function's name the action. Renaming either renames the client's call.
- Each route declares, with ``operation(...)``, a Chinese summary, the English in ``description``,
  and the problem codes it answers besides the ones the frame adds (401 and 403 from its role
  dependency, 422 ``validation_error`` for its parameters, 400 ``invalid_json`` for a JSON body,
  400 ``invalid_cursor`` for a list's ``cursor``).
  Each 4xx is ``application/problem+json``: the one ``Problem`` schema, ``code`` narrowed to an enum.
- Tags are the front ends (居民, 网格, 指挥部, 实验室, 合作方), from the roles a route admits
  unless the route names them; ``x-roles`` lists the roles.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from cordon.messages import CODES

PROBLEM_JSON = "application/problem+json"
RESIDENT, GRID, COMMAND, LAB, PARTNER = "居民", "网格", "指挥部", "实验室", "合作方"
AUDIENCES: dict[str, str] = {
    RESIDENT: "居民（小程序、App）：本人健康码、核酸检测、行程申报、活动报备、通知。"
    " Residents (mini-program, app): their own health code, tests, travel declarations, gatherings, notices.",
    GRID: "网格员、村（社区）干部：人员登记、随访、日报告、核验。"
    " Grid workers and village cadres: registration, follow-ups, daily reports, checks.",
    COMMAND: "指挥部（防控干部、管理员）：风险地区、管控措施、活动审批、统计、用户。"
    " Command offices (officials, admins): risk areas, measures, approvals, users.",
    LAB: "采样点与实验室：采样、结果、批量上传。 Sampling sites and labs: samples, results, batch uploads.",
    PARTNER: "合作方系统（大数据）：行程记录推送，使用 X-API-Key。"
    " Partner systems: the travel-record push, with X-API-Key.",
}
ROLE_AUDIENCE = {"resident": RESIDENT, "grid_worker": GRID, "official": COMMAND, "admin": COMMAND, "lab": LAB, "partner": PARTNER}
ALL_ROLES = ("admin", "official", "grid_worker", "lab", "resident", "partner")
AUTH_CODES = ("unauthenticated", "token_invalid", "token_expired")

PROBLEM_SCHEMA = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details. `title`, `detail` and `errors[].message` follow Accept-Language "
    "(zh-CN by default, en on request); `code` is stable: switch on it.",
    "required": ["type", "title", "status", "detail", "code", "errors"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}},
    },
    "additionalProperties": True,
}
FIELD_ERROR_SCHEMA = {
    "title": "FieldError",
    "type": "object",
    "required": ["field", "message"],
    "properties": {
        "field": {"type": "string", "description": "dotted path of the field, e.g. `venue.region_code`"},
        "message": {"type": "string"},
    },
}


def operation_id(route: APIRoute) -> str:
    """``<resource>_<function>``: the router's first tag (the resource) and the route function's name."""
    resource = re.sub(r"\W+", "_", route.tags[0]).strip("_").lower() if route.tags else ""
    return f"{resource}_{route.name}" if resource else route.name


def problem_response(status: int, codes: Iterable[str]) -> dict:
    codes = sorted(set(codes))
    en = CODES[codes[0]].en if len(codes) == 1 and CODES[codes[0]].status == status else "; ".join(f"`{c}`" for c in codes)
    return {
        "description": en,
        "content": {
            PROBLEM_JSON: {
                "schema": {
                    "allOf": [
                        {"$ref": "#/components/schemas/Problem"},
                        {"type": "object", "required": ["code"], "properties": {"code": {"type": "string", "enum": codes}}},
                    ]
                }
            }
        },
    }


def operation(zh: str, en: str, *codes: str, tags: Iterable[str] = (), responses: dict | None = None) -> dict[str, Any]:
    """Keyword arguments for a route decorator: summaries, tags, and the problem codes the route answers.

    ``codes`` are keys of ``cordon.messages.CODES`` (each knows its status): the use case's refusals,
    e.g. ``"person_not_found", "region_forbidden"``. ``tags`` overrides the front ends the roles imply.
    """
    by_status: dict[int, list[str]] = {}
    for declared in codes:
        code, _, status = declared.partition("@")
        if code not in CODES:
            raise KeyError(f"{code!r} is not in cordon.messages.CODES: add it with its Chinese and English")
        if status and int(status) not in CODES[code].also:
            raise ValueError(f"{code!r} does not come with {status}: see its Code in cordon.messages")
        by_status.setdefault(int(status) if status else CODES[code].status, []).append(code)
    kwargs: dict[str, Any] = {
        "summary": zh,
        "description": en,
        "responses": {**(responses or {}), **{s: problem_response(s, c) for s, c in by_status.items()}},
    }
    tags = list(tags)
    if any(t not in AUDIENCES for t in tags):
        raise ValueError(f"tags must be among {list(AUDIENCES)}")
    if tags:  # after the router's resource tag, which stays first (the operation id's prefix)
        kwargs["tags"] = tags
    return kwargs


def _roles(route: APIRoute) -> tuple[str, ...] | None:
    """The roles a route's dependencies admit (None: no sign-in needed)."""
    stack, found = [route.dependant], None
    while stack:
        dependant = stack.pop()
        roles = getattr(dependant.call, "roles", None)
        if roles is not None:
            found = tuple(roles) if found is None else tuple(r for r in found if r in roles)
        stack.extend(dependant.dependencies)
    return found


def _codes_of(response: dict) -> list[str]:
    try:
        return list(response["content"][PROBLEM_JSON]["schema"]["allOf"][1]["properties"]["code"]["enum"])
    except (KeyError, IndexError, TypeError):
        return []


def add_problems(op: dict, status: int, codes: Iterable[str]) -> None:
    responses = op.setdefault("responses", {})
    key = str(status)
    responses[key] = problem_response(status, [*_codes_of(responses.get(key, {})), *codes])


def _finish_operation(op: dict, route: APIRoute) -> None:
    roles = _roles(route)
    responses = op.setdefault("responses", {})
    for key in list(responses):  # FastAPI's HTTPValidationError, and problem responses declared by int
        if key == "422" and not _codes_of(responses[key]):
            del responses[key]
            add_problems(op, 422, ["validation_error"])
    if route.dependant.query_params or route.dependant.path_params or route.dependant.body_params:
        add_problems(op, 422, ["validation_error"])
    if any(p.get("in") == "query" and p.get("name") == "cursor" for p in op.get("parameters", ())):
        add_problems(op, 400, ["invalid_cursor"])  # every list pages with cordon.paging
    body = op.get("requestBody", {}).get("content", {})
    if "application/json" in body and route.dependant.body_params:
        add_problems(op, 400, ["invalid_json"])
    if roles is not None or op.get("security"):
        add_problems(op, 401, AUTH_CODES)
    if roles is not None:
        if set(ALL_ROLES) - set(roles):
            add_problems(op, 403, ["forbidden"])
        op["x-roles"] = list(roles)
        op["description"] = f"{op.get('description') or ''}\n\n角色 / Roles: {', '.join(roles)}".strip()
    audiences = [t for t in op.get("tags", ()) if t in AUDIENCES] or sorted({ROLE_AUDIENCE[r] for r in roles or ()}, key=list(AUDIENCES).index)
    op["tags"] = list(audiences)
    op["responses"] = dict(sorted(op["responses"].items()))


def _api_routes(routes: Iterable[Any]) -> list[Any]:
    """Every API route, inside included routers too (FastAPI 0.16x keeps them nested)."""
    from fastapi import routing

    flat = routing.iter_route_contexts(list(routes)) if hasattr(routing, "iter_route_contexts") else routes
    return [r for r in flat if getattr(r, "unique_id", None) and getattr(r, "dependant", None) is not None]


def finish(doc: dict, routes: Iterable[Any]) -> dict:
    """Shape FastAPI's document: problem responses, tags, the Problem schema, no HTTPValidationError."""
    by_id = {r.unique_id: r for r in _api_routes(routes) if r.include_in_schema}
    for item in doc.get("paths", {}).values():
        for op in item.values():
            if isinstance(op, dict) and op.get("operationId") in by_id:
                _finish_operation(op, by_id[op["operationId"]])
    _resolve_item_models(doc)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"], schemas["FieldError"] = PROBLEM_SCHEMA, FIELD_ERROR_SCHEMA
    for name in [n for n in schemas if n.startswith("Body_")]:  # form bodies: named after the operation
        new = "".join(p.capitalize() for p in name[len("Body_"):].split("_")) + "Form"
        schemas[new] = {**schemas.pop(name), "title": new}
        _rename_refs(doc, name, new)
    for name in ("HTTPValidationError", "ValidationError"):  # FastAPI's 422 shape, which Cordon never sends
        if f"#/components/schemas/{name}'" not in repr(doc):
            schemas.pop(name, None)
    doc["tags"] = [{"name": n, "description": d} for n, d in AUDIENCES.items()]
    return doc


def _rename_refs(node: Any, old: str, new: str) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and v == f"#/components/schemas/{old}":
                node[k] = f"#/components/schemas/{new}"
            else:
                _rename_refs(v, old, new)
    elif isinstance(node, list):
        for v in node:
            _rename_refs(v, old, new)


def document(app: FastAPI, *, title: str | None = None) -> dict:
    """The app's finished document (cached on the app, as FastAPI's own is)."""
    if app.openapi_schema is None:
        doc = get_openapi(
            title=title or app.title, version=app.version, description=app.description, routes=app.routes
        )
        app.openapi_schema = finish(doc, app.routes)
    return app.openapi_schema


def serve_docs(app: FastAPI, *, openapi_url: str = "/openapi.json", title: str | None = None) -> None:
    """``/docs`` (Swagger UI) and ``/redoc`` with their scripts served here: they work with no internet.

    The assets come from the PyPI package ``fastapi-offline`` (Swagger UI: Apache 2.0, ReDoc: MIT).
    """
    import fastapi_offline
    from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles

    assets = "/docs-assets"
    title = title or app.title
    app.mount(assets, StaticFiles(directory=Path(fastapi_offline.__file__).parent / "static"), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui():
        return get_swagger_ui_html(
            openapi_url=openapi_url, title=title, swagger_js_url=f"{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger-ui.css", swagger_favicon_url=f"{assets}/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc():
        return get_redoc_html(
            openapi_url=openapi_url, title=title, redoc_js_url=f"{assets}/redoc.standalone.js",
            redoc_favicon_url=f"{assets}/favicon.png", with_google_fonts=False,
        )


BATCH_CODES = ("invalid_json", "invalid_body", "unsupported_media_type", "payload_too_large")  # cordon.batches


def batch_operation(
    zh: str, en: str, model: type, examples: list[dict], *codes: str, csv: str | None = None
) -> dict[str, Any]:
    """``operation(...)`` for a bulk upload of ``model`` records, with its body and the batch reader's codes;
    ``csv`` describes a CSV body the route also takes."""
    body = batch_body(model, examples)
    if csv:
        body["requestBody"]["content"]["text/csv"] = {"schema": {"type": "string", "description": csv}}
    return {"openapi_extra": body, **operation(zh, en, *BATCH_CODES, *codes)}


_ITEM_MODELS: dict[str, type] = {}  # batch_body's models, by "module:name" (the document holds only text)


def batch_body(model: type, examples: list[dict]) -> dict:
    """``openapi_extra`` for a bulk upload: NDJSON (one ``model`` a line) or a JSON array of ``model``.

    The model is documentation of the line (each line is checked by the route's own parser); it is
    added to the components by ``finish``. ``x-item-schema`` names the schema of one NDJSON line.
    """
    import orjson

    ndjson = "".join(orjson.dumps(e).decode() + "\n" for e in examples)
    key = f"{model.__module__}:{model.__qualname__}"
    _ITEM_MODELS[key] = model
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/x-ndjson": {
                    "schema": {"type": "string", "description": f"one {model.__name__} JSON object a line (UTF-8)"},
                    "x-item-model": key,
                    "example": ndjson,
                },
                "application/json": {"schema": {"type": "array", "x-item-model": key}, "example": examples},
            },
        }
    }


def _resolve_item_models(doc: dict) -> None:
    """Turn ``batch_body``'s model markers into ``$ref``s, adding the models to the components."""
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for item in doc.get("paths", {}).values():
        for op in item.values():
            if not isinstance(op, dict):
                continue
            for media in op.get("requestBody", {}).get("content", {}).values():
                for holder, key in ((media, "x-item-schema"), (media.get("schema", {}), "items")):
                    model = _ITEM_MODELS.get(holder.pop("x-item-model", None))
                    if model is None:
                        continue
                    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                    for name, sub in schema.pop("$defs", {}).items():
                        schemas.setdefault(name, sub)
                    schemas.setdefault(model.__name__, schema)
                    holder[key] = {"$ref": f"#/components/schemas/{model.__name__}"}
