"""/api/v1/auth: staff tokens, residents' SMS login, users and partners."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from pydantic import BaseModel, ConfigDict, Field

from cordon import apidoc
from cordon.auth import Admin, Resident, Role
from cordon.deps import NowDep, SessionDep, VaultDep
from cordon.paging import Cursor, Limit
from gateway.auth import service, tokens
from gateway.door import Attempt, address

router = APIRouter(prefix="/auth", tags=["auth"])
me_router = APIRouter(tags=["me"])



class TokenRead(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    role: Role
    regions: list[str]


class SmsCodeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"phone": "13800138000"}]})
    phone: str = Field(min_length=1, max_length=32)


class SmsCodeSent(BaseModel):
    status: Literal["sent"] = "sent"


class ResidentTokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"phone": "13800138000", "code": "123456"}]})
    phone: str = Field(min_length=1, max_length=32)
    code: str = Field(min_length=4, max_length=10)


class WechatCode(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    code: str = Field(min_length=1, max_length=128, description="The code from wx.login (single use)")


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=10, max_length=256)
    role: Literal["admin", "official", "grid_worker", "lab"]
    regions: list[str] = Field(default=[], max_length=50)
    phone: str | None = Field(default=None, max_length=32)


class UserRead(BaseModel):
    id: uuid.UUID
    username: str
    role: Literal["admin", "official", "grid_worker", "lab"]
    regions: list[str]
    phone_masked: str | None
    active: bool


class UserPage(BaseModel):
    items: list[UserRead]
    next_cursor: str | None


class PartnerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=100)
    scopes: list[Literal["travel_records", "gate"]] = Field(
        default=["travel_records"], min_length=1, max_length=2,
        description="What the key opens: the travel-record push, and/or health-code verification at a gate",
    )
    regions: list[str] = Field(
        default=[], max_length=50,
        description="Where a gate stands, or the place a big-data partner serves (region codes): an unmatched record "
                    "without current_region_code opens its lead there",
    )


class PartnerCreated(BaseModel):
    partner_id: uuid.UUID
    name: str
    api_key: str  # shown once; stored only as a digest
    scopes: list[str]
    regions: list[str]


def _issue(request: Request, **claims) -> str:
    s = request.app.state.settings
    return tokens.issue(key_file=s.jwt_private_key_file, issuer=s.jwt_issuer, audience=s.jwt_audience, **claims)


@router.post(
    "/token",
    response_model=TokenRead,
    **apidoc.operation(
        "工作人员登录", "Staff sign-in (OAuth2 password form)", "invalid_credentials", "too_many_attempts", "rate_limited",
        tags=[apidoc.GRID, apidoc.COMMAND, apidoc.LAB],
    ),
)
async def staff_token(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(examples=["wang.grid"])],
    password: Annotated[str, Form(examples=["correct horse battery"])],
):
    door, client = request.app.state.door, address(request)
    async with Attempt(request, (door.password_failures_per_account, username.strip().casefold()),
                       (door.password_failures_per_address, client)):
        user = await service.authenticate(session=session, username=username, password=password)
    ttl = request.app.state.settings.staff_token_ttl_s
    token = _issue(request, subject=str(user.id), role=user.role, regions=user.regions, username=user.username, ttl_s=ttl)
    return TokenRead(access_token=token, expires_in=ttl, role=user.role, regions=user.regions)


@router.post(
    "/sms-code",
    status_code=202,
    **apidoc.operation("获取登录验证码", "Send a login code by SMS", "phone_invalid", "rate_limited", "too_many_attempts", tags=[apidoc.RESIDENT]),
)
async def sms_code(body: SmsCodeRequest, request: Request, session: SessionDep, vault: VaultDep, now: NowDep) -> SmsCodeSent:
    async with Attempt(request) as attempt:
        await attempt.spend(request.app.state.door.sms_codes_per_address, attempt.address)
    await service.request_sms_code(session=session, vault=vault, phone=body.phone, now=now, policy=request.app.state.settings.sms)
    return SmsCodeSent()


@router.post(
    "/resident-token",
    response_model=TokenRead,
    **apidoc.operation(
        "居民验证码登录", "Resident sign-in with the SMS code", "invalid_code", "too_many_attempts", "rate_limited", tags=[apidoc.RESIDENT],
    ),
)
async def resident_token(body: ResidentTokenRequest, request: Request, session: SessionDep, vault: VaultDep, now: NowDep):
    settings = request.app.state.settings
    async with Attempt(request, (request.app.state.door.code_failures_per_address, address(request))):
        index, person_id = await service.redeem_sms_code(
            session=session, vault=vault, phone=body.phone, code=body.code, now=now, policy=settings.sms
        )
    return _resident_token(request, index, person_id)


def _resident_token(request: Request, index: str, person_id) -> TokenRead:
    ttl = request.app.state.settings.resident_token_ttl_s
    token = _issue(request, subject=index, role="resident", phone_index=index, person_id=person_id, ttl_s=ttl)
    return TokenRead(access_token=token, expires_in=ttl, role="resident", regions=[])


async def _wechat_attempt(request: Request, attempt):
    """Wrong or replayed codes are limited per client address (429 too_many_attempts)."""
    async with Attempt(request, (request.app.state.door.wechat_failures_per_address, address(request))):
        return await attempt()


@router.post(
    "/wechat-token",
    response_model=TokenRead,
    **apidoc.operation(
        "微信小程序登录", "Resident sign-in from the mini-program (a wx.login code)", "wechat_unbound",
        "wechat_code_invalid", "wechat_rate_limited", "wechat_user_blocked", "too_many_attempts", "rate_limited",
        "wechat_unavailable", tags=[apidoc.RESIDENT],
    ),
)
async def wechat_token(body: WechatCode, request: Request, session: SessionDep, now: NowDep):
    """Sign a resident in with a wx.login code, once their openid is bound (else 409 wechat_unbound)."""
    index, person_id = await _wechat_attempt(
        request, lambda: service.sign_in_wechat(session=session, client=request.app.state.wechat, code=body.code, now=now)
    )
    return _resident_token(request, index, person_id)


@me_router.post(
    "/me/wechat",
    status_code=200,
    **apidoc.operation(
        "绑定微信", "Bind my mini-program WeChat account to me (once)", "wechat_bound", "wechat_code_invalid",
        "wechat_rate_limited", "wechat_user_blocked", "too_many_attempts", "wechat_unavailable",
    ),
)
async def bind_wechat(
    body: WechatCode, principal: Resident, request: Request, session: SessionDep, vault: VaultDep, now: NowDep
) -> dict:
    """Bind the signed-in resident's mini-program openid (once; 409 wechat_bound if bound elsewhere)."""
    await _wechat_attempt(
        request,
        lambda: service.bind_wechat(
            session=session, vault=vault, client=request.app.state.wechat, principal=principal, code=body.code, now=now
        ),
    )
    return {"status": "bound"}


def _user(user) -> UserRead:
    return UserRead(id=user.id, username=user.username, role=user.role, regions=user.regions,
                    phone_masked=user.phone_masked, active=user.active)


@router.post(
    "/users",
    status_code=201,
    response_model=UserRead,
    **apidoc.operation(
        "创建工作人员账号", "Create a staff account", "role_invalid", "region_code_invalid", "regions_required",
        "phone_invalid", "user_exists",
    ),
)
async def create_user(body: UserCreate, principal: Admin, session: SessionDep, vault: VaultDep, now: NowDep):
    return _user(await service.create_user(session=session, vault=vault, principal=principal, data=body, now=now))


@router.get("/users", response_model=UserPage, **apidoc.operation("查询工作人员账号", "List staff accounts"))
async def list_users(principal: Admin, session: SessionDep, limit: Limit = 50, cursor: Cursor = None):
    page = await service.list_users(session=session, limit=limit, cursor=cursor)
    return UserPage(items=[_user(u) for u in page.items], next_cursor=page.next_cursor)


@router.post(
    "/partners",
    status_code=201,
    response_model=PartnerCreated,
    **apidoc.operation("创建合作方及其 API 密钥", "Create a partner and its API key (shown once)"),
)
async def create_partner(body: PartnerCreate, principal: Admin, session: SessionDep, now: NowDep):
    partner, key = await service.create_partner(session=session, data=body, now=now)
    return PartnerCreated(partner_id=partner.id, name=partner.name, api_key=key, scopes=partner.scopes, regions=partner.regions)
