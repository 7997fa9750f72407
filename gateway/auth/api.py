"""/api/v1/auth: staff tokens, residents' SMS login, users and partners."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Request
from pydantic import BaseModel, ConfigDict, Field

from cordon.auth import Principal, require
from cordon.clock import NowDep
from cordon.db import SessionDep
from cordon.paging import Cursor, Limit
from cordon.pii import VaultDep
from gateway.auth import service, tokens

router = APIRouter(prefix="/auth", tags=["auth"])

Admin = Annotated[Principal, Depends(require("admin"))]


class TokenRead(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    role: str
    regions: list[str]


class SmsCodeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phone: str = Field(min_length=1, max_length=32)


class ResidentTokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phone: str = Field(min_length=1, max_length=32)
    code: str = Field(min_length=4, max_length=10)


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
    role: str
    regions: list[str]
    phone_masked: str | None
    active: bool


class UserPage(BaseModel):
    items: list[UserRead]
    next_cursor: str | None


class PartnerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=100)


class PartnerCreated(BaseModel):
    partner_id: uuid.UUID
    name: str
    api_key: str  # shown once; stored only as a digest


def _issue(request: Request, **claims) -> str:
    s = request.app.state.settings
    return tokens.issue(key_file=s.jwt_private_key_file, issuer=s.jwt_issuer, audience=s.jwt_audience, **claims)


@router.post("/token", response_model=TokenRead)
async def staff_token(
    request: Request, session: SessionDep, username: Annotated[str, Form()], password: Annotated[str, Form()]
):
    user = await service.authenticate(session, username, password)
    ttl = request.app.state.settings.staff_token_ttl_s
    token = _issue(request, subject=str(user.id), role=user.role, regions=user.regions, username=user.username, ttl_s=ttl)
    return TokenRead(access_token=token, expires_in=ttl, role=user.role, regions=user.regions)


@router.post("/sms-code", status_code=202)
async def sms_code(body: SmsCodeRequest, request: Request, session: SessionDep, vault: VaultDep, now: NowDep) -> dict:
    await service.request_sms_code(session=session, vault=vault, phone=body.phone, now=now, policy=request.app.state.settings.sms)
    return {"status": "sent"}


@router.post("/resident-token", response_model=TokenRead)
async def resident_token(body: ResidentTokenRequest, request: Request, session: SessionDep, vault: VaultDep, now: NowDep):
    settings = request.app.state.settings
    index, person_id = await service.redeem_sms_code(
        session=session, vault=vault, phone=body.phone, code=body.code, now=now, max_attempts=settings.sms.max_attempts
    )
    ttl = settings.resident_token_ttl_s
    token = _issue(request, subject=index, role="resident", phone_index=index, person_id=person_id, ttl_s=ttl)
    return TokenRead(access_token=token, expires_in=ttl, role="resident", regions=[])


def _user(user) -> UserRead:
    return UserRead(id=user.id, username=user.username, role=user.role, regions=user.regions,
                    phone_masked=user.phone_masked, active=user.active)


@router.post("/users", status_code=201, response_model=UserRead)
async def create_user(body: UserCreate, principal: Admin, session: SessionDep, vault: VaultDep, now: NowDep):
    return _user(await service.create_user(session=session, vault=vault, principal=principal, data=body, now=now))


@router.get("/users", response_model=UserPage)
async def list_users(principal: Admin, session: SessionDep, limit: Limit = 50, cursor: Cursor = None):
    page = await service.list_users(session=session, limit=limit, cursor=cursor)
    return UserPage(items=[_user(u) for u in page.items], next_cursor=page.next_cursor)


@router.post("/partners", status_code=201, response_model=PartnerCreated)
async def create_partner(body: PartnerCreate, principal: Admin, session: SessionDep, now: NowDep):
    partner, key = await service.create_partner(session=session, name=body.name, now=now)
    return PartnerCreated(partner_id=partner.id, name=partner.name, api_key=key)
