"""The control-measure policy: /policies/active (YAML or JSON in; validated, versioned, announced)."""

from __future__ import annotations

import orjson
import yaml
from fastapi import APIRouter, Request
from pydantic import ValidationError

from cordon import apidoc, messages, policy
from cordon.auth import Admin, Staff
from cordon.deps import NowDep, SessionDep
from cordon.errors import Unprocessable, field_errors
from cordon.paging import Cursor, Limit
from services.registry import schemas
from services.registry.service import policies

router = APIRouter(tags=["policies"])

MAX_POLICY_BYTES = 1024 * 1024


def _read(active: policies.Active) -> schemas.PolicyRead:
    return schemas.PolicyRead(
        version=active.version,
        document=active.policy.model_dump(mode="json"),
        yaml=active.source_yaml,
        changed_by=active.changed_by,
        changed_at=active.changed_at,
    )


@router.get(
    "/policies/active",
    response_model=schemas.PolicyRead,
    **apidoc.operation("查看现行防控政策", "Read the active policy"),
)
async def read_policy(principal: Staff, session: SessionDep):
    return _read(await policies.active(session=session))


@router.put(
    "/policies/active",
    response_model=schemas.PolicyRead,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/yaml": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "object"}},
            },
        }
    },
    **apidoc.operation("发布防控政策", "Publish a new version of the policy (YAML or JSON)", "policy_invalid"),
)
async def put_policy(request: Request, principal: Admin, session: SessionDep, now: NowDep):
    raw = await request.body()
    if len(raw) > MAX_POLICY_BYTES:
        raise Unprocessable("The policy document is too large.", code="policy_invalid")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if content_type == "application/json":
            source = None
            document = policy.Policy.model_validate(orjson.loads(raw))
        else:
            source = raw.decode("utf-8")
            document = policy.parse_yaml(source)
    except ValidationError as exc:
        errors = field_errors(exc.errors(), messages.language_var.get())
        raise Unprocessable("The policy document is not valid.", code="policy_invalid", errors=errors) from None
    except (ValueError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise Unprocessable(f"The policy document is not valid: {str(exc)[:300]}", code="policy_invalid") from None
    active = await policies.put_policy(session=session, document=document, source_yaml=source, principal=principal, now=now)
    return _read(active)


@router.get(
    "/policies",
    response_model=schemas.PolicyVersionPage,
    **apidoc.operation("查看防控政策版本记录", "List the policy's versions"),
)
async def policy_history(principal: Staff, session: SessionDep, limit: Limit = 50, cursor: Cursor = None):
    page = await policies.history(session=session, limit=limit, cursor=cursor)
    items = [schemas.PolicyVersionRead(version=v.version, changed_by=v.changed_by, changed_at=v.changed_at) for v in page.items]
    return schemas.PolicyVersionPage(items=items, next_cursor=page.next_cursor)
