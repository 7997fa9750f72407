"""The health-code pass: a resident's QR code, and its verification by a gate or a staff member."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from cordon import apidoc
from cordon.auth import Resident
from cordon.deps import NowDep, SessionDep
from services.registry.api.deps import Gate
from services.registry.service import passes, people

router = APIRouter(tags=["health-code"])


class PassRead(BaseModel):
    token: str = Field(description="A compact JWS (EdDSA), to show as a QR code; verify it against /.well-known/jwks.json")
    color: Literal["green", "yellow", "red"]
    expires_at: datetime


class PassCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=1, max_length=4096)


class PassVerdict(BaseModel):
    valid: bool
    color: Literal["green", "yellow", "red"] | None = None
    name_masked: str | None = None
    expires_at: datetime | None = None
    reason: Literal[
        "malformed", "algorithm_not_allowed", "unknown_key", "bad_signature", "expired", "superseded", "unknown_person"
    ] | None = None


@router.get(
    "/me/health-code/pass",
    response_model=PassRead,
    **apidoc.operation("出示健康码通行证", "My health-code pass: a signed token to show as a QR code", "person_not_registered"),
)
async def my_pass(principal: Resident, session: SessionDep, request: Request, now: NowDep):
    """A pass for the caller's colour as it stands, valid for a few minutes."""
    settings = request.app.state.settings
    person = await people.own_person(session=session, principal=principal)
    token, expires_at = passes.issue_pass(
        keyring=request.app.state.pass_keys, person_id=person.id, color=person.health_color, name=person.name,
        version=person.health_version, issuer=settings.jwt_issuer, now=now, ttl=timedelta(seconds=settings.pass_ttl_s),
    )
    return PassRead(token=token, color=person.health_color, expires_at=expires_at)


@router.post(
    "/health-code/verify",
    response_model=PassVerdict,
    response_model_exclude_none=True,
    **apidoc.operation("核验健康码通行证", "Verify a health-code pass: signature, expiry, colour unchanged"),
)
async def verify(body: PassCheck, principal: Gate, request: Request):
    """Whether a pass stands: signature, expiry, and that the person's colour has not changed since."""
    return await passes.verify_pass(
        versions=passes.engine_versions(request.app.state.engine), keyring=request.app.state.pass_keys, token=body.token,
        issuer=request.app.state.settings.jwt_issuer,
    )
