"""The merged OpenAPI a front end generates its client from: names, problems, tags, bodies, enums."""

from __future__ import annotations

import ast
import re
from datetime import date
from pathlib import Path

import orjson
import pytest

from cordon import apidoc
from cordon.messages import CODES
from tests.openapi import document

ROOT = Path(__file__).resolve().parents[2]
METHODS = ("get", "post", "put", "patch", "delete")
# Codes the frame and the gateway add to operations (not raised by a use case).
FRAMEWORK = {"validation_error", "invalid_json", "unauthenticated", "token_invalid", "token_expired", "forbidden",
             "rate_limited", "payload_too_large", "invalid_api_key", "token_revoked", "scope_missing", "invalid_cursor"}


@pytest.fixture(scope="module")
def doc() -> dict:
    return document.merged()


def operations(doc: dict):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield method, path, op


def enums(op: dict) -> dict[str, list[str]]:
    found = {}
    for status, response in op["responses"].items():
        if status.startswith("4"):
            schema = response["content"][apidoc.PROBLEM_JSON]["schema"]
            assert schema["allOf"][0] == {"$ref": "#/components/schemas/Problem"}
            found[status] = schema["allOf"][1]["properties"]["code"]["enum"]
    return found


def test_operation_ids_are_short_unique_and_named_after_resource_and_function(doc):
    ids = [op["operationId"] for _, _, op in operations(doc)]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+(_[a-z0-9]+)+", i) and len(i) <= 48 for i in ids), ids
    by_route = {(m, p): op["operationId"] for m, p, op in operations(doc)}
    assert by_route[("get", "/api/v1/persons/{person_id}/health-code")] == "persons_read_health_code"
    assert by_route[("post", "/api/v1/travel-records/batch")] == "travel_push_travel_records"
    assert by_route[("post", "/api/v1/auth/token")] == "auth_staff_token"
    schemas = doc["components"]["schemas"]
    assert not [n for n in schemas if n.startswith("Body_") or "__" in n]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert "HTTPValidationError" not in orjson.dumps(doc).decode()


def test_every_4xx_is_a_problem_with_the_codes_of_its_status(doc):
    gateways_own = set(apidoc.document(document.app("gateway"))["paths"])
    for method, path, op in operations(doc):
        codes = enums(op)
        assert codes or not (op.get("security") or op.get("parameters") or op.get("requestBody")), f"{method} {path}"
        for status, enum in codes.items():
            assert enum and all(int(status) in (CODES[c].status, *CODES[c].also) for c in enum), (method, path, status, enum)
        model_body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
        if op.get("parameters") or "$ref" in model_body:  # what FastAPI validates itself
            assert "validation_error" in codes.get("422", []), (method, path)
        if op.get("security"):
            assert {"unauthenticated", "token_invalid", "token_expired"} <= set(codes["401"]), (method, path)
        assert "rate_limited" in codes.get("429", []) or path in gateways_own, (method, path)
    problem = doc["components"]["schemas"]["Problem"]
    assert set(problem["required"]) >= {"type", "title", "status", "detail", "code", "errors"}
    assert doc["components"]["schemas"]["FieldError"]["required"] == ["field", "message"]


def raised_codes(*, line_codes: bool = False) -> set[str]:
    """Every problem code the code can raise: DomainError subclasses' ``code``, ``code="..."`` at a raise,
    and the keys of the refusal tables that map a code to its DomainError class. With ``line_codes``,
    also the codes of batch lines (``LineError("code", ...)``), which a single-record route may answer."""
    codes: set[str] = set()
    error_classes = {"DomainError", "NotFound", "Conflict", "Unprocessable", "Unauthenticated", "Forbidden"}
    files = [p for d in ("services", "gateway", "cordon") for p in (ROOT / d).rglob("*.py") if "migrations" not in p.parts]
    trees = [ast.parse(p.read_text()) for p in files]
    for _ in range(3):  # subclasses of subclasses
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and {getattr(b, "id", getattr(b, "attr", "")) for b in node.bases} & error_classes:
                    error_classes.add(node.name)
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name in error_classes:
                for stmt in node.body:
                    if isinstance(stmt, ast.Assign) and isinstance(stmt.value, (ast.Constant, ast.Tuple)):
                        value = stmt.value.elts[0] if isinstance(stmt.value, ast.Tuple) else stmt.value
                        names = [t.id if isinstance(t, ast.Name) else t.elts[0].id for t in stmt.targets]
                        if "code" in names and isinstance(value, ast.Constant):
                            codes.add(value.value)
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in error_classes:
                codes |= {k.value.value for k in node.keywords if k.arg == "code" and isinstance(k.value, ast.Constant)}
            if isinstance(node, ast.Dict) and node.values and all(getattr(v, "id", "") in error_classes for v in node.values):
                codes |= {k.value for k in node.keys if isinstance(k, ast.Constant)}
            if line_codes and isinstance(node, ast.Call) and getattr(node.func, "id", "") == "LineError" and node.args:
                codes |= {node.args[0].value} if isinstance(node.args[0], ast.Constant) else set()
            if (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "problem" and len(node.args) >= 2
                    and isinstance(node.args[1], ast.Constant) and isinstance(node.args[0], ast.Constant)
                    and node.args[0].value < 500):
                codes.add(node.args[1].value)
    return {c for c in codes - {"domain_error"} if c not in CODES or CODES[c].status < 500}


def test_every_code_raised_is_in_an_operations_enum_and_every_enum_code_is_raised(doc):
    declared = {c for _, _, op in operations(doc) for enum in enums(op).values() for c in enum}
    raised = raised_codes()
    generic = {"not_found", "conflict", "bad_request", "method_not_allowed", "not_acceptable", "unsupported_media_type"}
    assert raised - declared - generic == set(), "raised but in no operation's enum: add it to the route's apidoc.operation"
    assert declared - raised_codes(line_codes=True) - FRAMEWORK == set(), "declared but raised nowhere: remove it from the route"
    assert raised - set(CODES) == set(), "raised but not in cordon.messages.CODES (no Chinese for it)"


def test_tags_are_the_front_ends_and_summaries_are_chinese_with_english(doc):
    assert [t["name"] for t in doc["tags"]] == ["居民", "网格", "指挥部", "实验室", "合作方"]
    for method, path, op in operations(doc):
        assert op["tags"] and set(op["tags"]) <= set(apidoc.AUDIENCES), (method, path, op["tags"])
        assert re.search(r"[\u4e00-\u9fff]", op["summary"]), (method, path)
        assert re.match(r"[A-Z][a-z ]", op["description"]), (method, path)
    tags = {(m, p): op["tags"] for m, p, op in operations(doc)}
    assert tags[("get", "/api/v1/me/health-code")] == ["居民"]
    assert tags[("post", "/api/v1/travel-records/batch")] == ["合作方"]
    assert tags[("post", "/api/v1/results")] == ["实验室"]
    assert "指挥部" in tags[("put", "/api/v1/risk-areas/{region_code}")]


def test_partner_push_documents_its_records_and_api_key(doc):
    op = doc["paths"]["/api/v1/travel-records/batch"]["post"]
    assert op["security"] == [{"PartnerKey": []}]
    assert doc["components"]["securitySchemes"]["PartnerKey"] == {**doc["components"]["securitySchemes"]["PartnerKey"],
                                                                 "type": "apiKey", "in": "header", "name": "X-API-Key"}
    content = op["requestBody"]["content"]
    line = {"$ref": "#/components/schemas/TravelRecordLine"}
    assert content["application/json"]["schema"] == {"type": "array", "items": line}
    assert content["application/x-ndjson"]["x-item-schema"] == line
    record = doc["components"]["schemas"]["TravelRecordLine"]
    assert set(record["properties"]) == {"record_id", "phone", "id_number", "region_code", "first_seen", "last_seen",
                                         "current_region_code"}
    assert set(record["required"]) == {"record_id", "region_code", "first_seen", "last_seen"}
    assert doc["paths"]["/api/v1/persons"]["get"]["security"] == [{"HTTPBearer": []}]

    # The documented example is what the parser accepts, line by line.
    from services.registry.domain import travel_lines

    lines = content["application/x-ndjson"]["example"].splitlines()
    assert len(lines) == len(content["application/json"]["example"]) == 2
    for raw in lines:
        parsed = travel_lines.parse(raw.encode(), today=date(2022, 1, 10), horizon_days=30)
        assert parsed.record_id and parsed.region_code


def test_main_requests_have_examples_and_read_models_carry_the_enums(doc):
    schemas = doc["components"]["schemas"]
    for name in ("PersonCreate", "GatheringCreate", "SampleCreate", "ResultCreate", "TravelRecordLine",
                 "SmsCodeRequest", "ResidentTokenRequest"):
        assert schemas[name].get("examples"), name
    assert schemas["AuthStaffTokenForm"]["properties"]["username"].get("examples")

    def enum_of(schema: str, field: str) -> set:
        prop = schemas[schema]["properties"][field]
        prop = prop.get("items", prop)
        if "$ref" in prop:
            prop = schemas[prop["$ref"].rsplit("/", 1)[1]]
        return set(prop.get("enum", ()))

    assert enum_of("HealthCodeRead", "color") == enum_of("HealthCodeSummary", "color") == {"green", "yellow", "red"}
    assert enum_of("RiskAreaRead", "level") == enum_of("RiskAreaPut", "level") == {"high", "medium", "low"}
    assert enum_of("MeasureRead", "kind") == enum_of("ExplicitMeasure", "kind")
    assert enum_of("PersonRead", "tags") == enum_of("PersonCreate", "tags")
    assert enum_of("GatheringRead", "kind") == enum_of("GatheringCreate", "kind")
    assert enum_of("UserRead", "role") == enum_of("UserCreate", "role")
    assert enum_of("NotificationRead", "channel") == {"inbox", "sms", "wechat", "webhook"}
    assert "resident" in enum_of("TokenRead", "role")


def test_the_api_guide_lists_every_code():
    guide = (ROOT / "docs" / "api.md").read_text()
    assert [c for c in CODES if f"`{c}`" not in guide] == []
