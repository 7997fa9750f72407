"""The gateway's use cases: staff users, partners, SMS login codes, the first admin."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cordon import paging, pii, regions
from cordon.auth import STAFF, Principal
from cordon.bus import outbox
from cordon.contracts import auth
from cordon.contracts.registry import PersonFacts
from cordon.errors import Conflict, DomainError, NotFound, RegionInvalid, Unauthenticated, Unprocessable
from cordon.pii import Vault
from gateway.auth import passwords, wechat
from gateway.limits import retry_after
from gateway.models import Partner, PersonPhone, SmsCode, User, WechatBinding, WechatCode

log = logging.getLogger("cordon.gateway.auth")



def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _code_digest(vault: Vault, phone_index: str, code: str) -> str:
    return hmac.new(vault.index_key, f"sms:{phone_index}:{code}".encode(), hashlib.sha256).hexdigest()


def _user_event(cls, user: User):
    return cls(
        user_id=user.id, username=user.username, role=user.role, regions=list(user.regions),
        phone_enc=user.phone_enc, active=user.active,
    )


async def create_user(*, session: AsyncSession, vault: Vault, principal: Principal, data, now: datetime) -> User:
    if data.role not in STAFF:
        raise Unprocessable(f"role must be one of {', '.join(STAFF)}.", code="role_invalid")
    bad = [r for r in data.regions if not regions.is_region_code(r)]
    if bad:
        raise RegionInvalid(f"Not region codes: {', '.join(bad)}.")
    if data.role in ("official", "grid_worker") and not data.regions:
        raise Unprocessable("Officials and grid workers need at least one region.", code="regions_required")
    phone = pii.checked_phone(data.phone) if data.phone is not None else None
    if (await session.execute(select(User.id).where(User.username == data.username))).first():
        raise Conflict("That username is taken.", code="user_exists")
    user = User(
        id=uuid.uuid4(), username=data.username, password_hash=await passwords.hash_password(data.password),
        role=data.role, regions=list(dict.fromkeys(data.regions)), active=True, created_at=now,
        created_by=principal.username or principal.subject,
        phone_enc=vault.encrypt(phone) if phone else None, phone_masked=pii.mask_phone(phone) if phone else None,
    )
    session.add(user)
    await outbox.add(session, _user_event(auth.UserCreated, user), key=user.id)
    await session.commit()
    return user


async def list_users(*, session: AsyncSession, limit: int, cursor: str | None) -> paging.Page[User]:
    return await paging.keyset(session, select(User), order=(User.username,), limit=limit, cursor=cursor)


async def authenticate(*, session: AsyncSession, username: str, password: str) -> User:
    user = (await session.execute(select(User).where(User.username == username))).scalar_one_or_none()
    # End the transaction before argon2 runs (tens of milliseconds): on SQLite every transaction holds the
    # write lock, and parallel guessers would make every other writer, and each real sign-in, wait for it.
    await session.commit()
    ok = await passwords.verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.active:
        raise Unauthenticated("Wrong username or password.", code="invalid_credentials")
    return user


async def user_named(*, session: AsyncSession, username: str) -> User:
    user = (await session.execute(select(User).where(User.username == username))).scalar_one_or_none()
    if user is None:
        raise NotFound(f"No user {username!r}.")
    return user


async def reset_password(*, session: AsyncSession, username: str, password: str) -> User:
    """A new password for ``username`` (an operator's act: the CLI); the old one stops working at once."""
    if not 10 <= len(password) <= 256:
        raise Unprocessable("A password has 10 to 256 characters.")
    user = await user_named(session=session, username=username)
    user.password_hash = await passwords.hash_password(password)
    await session.commit()
    return user


async def deactivate_user(*, session: AsyncSession, username: str) -> tuple[User, bool]:
    """Sign-in refused and the user's tokens refused at the door from now on; (user, whether it changed).

    ``auth.user.updated`` (active false) tells notify to stop addressing them."""
    user = await user_named(session=session, username=username)
    if not user.active:
        return user, False
    user.active = False
    await outbox.add(session, _user_event(auth.UserUpdated, user), key=user.id)
    await session.commit()
    return user, True


async def user_deactivated(*, session: AsyncSession, user_id: str) -> bool:
    """Whether a staff token's subject is a user who has been deactivated (the gateway asks before it forwards).

    Only the gateway's key signs tokens, and users are never deleted: a subject it does not know
    is not refused here (each service still verifies the token itself)."""
    try:
        key = uuid.UUID(user_id)
    except ValueError:
        return False
    active = (await session.execute(select(User.active).where(User.id == key))).scalar_one_or_none()
    return active is False


async def list_partners(*, session: AsyncSession) -> list[Partner]:
    return list((await session.execute(select(Partner).order_by(Partner.created_at, Partner.name))).scalars())


async def revoke_partner(*, session: AsyncSession, partner_id: uuid.UUID) -> tuple[Partner, bool]:
    """The partner's key refused from now on (the gateway re-checks a cached key within seconds)."""
    partner = await session.get(Partner, partner_id)
    if partner is None:
        raise NotFound(f"No partner {partner_id}.")
    if not partner.active:
        return partner, False
    partner.active = False
    await session.commit()
    return partner, True


async def create_partner(*, session: AsyncSession, data, now: datetime) -> tuple[Partner, str]:
    bad = [r for r in data.regions if not regions.is_region_code(r)]
    if bad:
        raise Unprocessable(f"Not region codes: {', '.join(bad)}.", code="region_code_invalid")
    key = "ck_" + secrets.token_urlsafe(32)
    partner = Partner(
        id=uuid.uuid4(), name=data.name, key_digest=digest(key), active=True, created_at=now,
        scopes=list(dict.fromkeys(data.scopes)), regions=list(dict.fromkeys(data.regions)),
    )
    session.add(partner)
    await outbox.add(session, auth.PartnerCreated(partner_id=partner.id, name=data.name, scopes=partner.scopes,
                                                    regions=partner.regions), key=partner.id)
    await session.commit()
    return partner, key


async def partner_for_key(*, session: AsyncSession, api_key: str) -> Partner | None:
    partner = (
        await session.execute(select(Partner).where(Partner.key_digest == digest(api_key)))
    ).scalar_one_or_none()
    return partner if partner and partner.active else None


def _window_end(row: SmsCode) -> datetime:
    return row.window_started_at + timedelta(hours=1)


def _too_many(until: datetime, now: datetime) -> DomainError:
    wait = max((until - now).total_seconds(), 0)
    return DomainError("Too many wrong codes for this phone; try again later.", code="too_many_attempts", status=429,
                       headers=retry_after(wait))


def _exhausted(row: SmsCode, now: datetime, policy) -> DomainError | None:
    """429 too_many_attempts while the phone's wrong guesses this hour have reached the limit.

    The guesses are counted per phone for the hour its codes are counted in: a new code does not give
    five more."""
    if row.attempts >= policy.max_attempts and now < _window_end(row):
        return _too_many(_window_end(row), now)
    return None


async def request_sms_code(*, session: AsyncSession, vault: Vault, phone: str, now: datetime, policy) -> None:
    """A fresh 6-digit code for ``phone``, sent through notify; limited per phone."""
    phone = pii.checked_phone(phone)
    index = vault.index("phone", phone)
    row = await session.get(SmsCode, index)
    if row is not None:
        if (refused := _exhausted(row, now, policy)) is not None:
            raise refused
        wait = (row.sent_at + timedelta(seconds=policy.min_interval_s) - now).total_seconds()
        if wait > 0:
            raise DomainError("A code was sent a moment ago.", code="rate_limited", status=429, headers=retry_after(wait))
        in_window = now < _window_end(row)
        if in_window and row.sent_in_window >= policy.max_per_hour:
            retry = (_window_end(row) - now).total_seconds()
            raise DomainError("Too many codes for this phone this hour.", code="rate_limited", status=429,
                              headers=retry_after(retry))
    code = f"{secrets.randbelow(1_000_000):06d}"
    expires = now + timedelta(seconds=policy.ttl_s)
    if row is None:
        row = SmsCode(phone_index=index, sent_in_window=0, window_started_at=now, attempts=0)
        session.add(row)
    elif now >= _window_end(row):  # a new hour: its codes and its wrong guesses start from nothing
        row.window_started_at, row.sent_in_window, row.attempts = now, 0, 0
    row.code_digest, row.expires_at, row.used = _code_digest(vault, index, code), expires, False
    row.sent_at, row.sent_in_window = now, row.sent_in_window + 1
    await outbox.add(
        session,
        auth.SmsCodeRequested(phone_index=index, phone_enc=vault.encrypt(phone), code_enc=vault.encrypt(code), expires_at=expires),
        key=index,
    )
    await session.commit()


async def redeem_sms_code(*, session: AsyncSession, vault: Vault, phone: str, code: str, now: datetime, policy) -> tuple[str, uuid.UUID | None]:
    """The phone's blind index and its person (if registered), once the code checks out.

    A guess is reserved in one statement before it is compared (the count cannot be raced past the
    limit by parallel guesses), and a right code is used once (two parallel right answers: one wins)."""
    refused = Unauthenticated("The code is wrong, used or expired.", code="invalid_code")
    if not pii.is_valid_phone(phone):
        raise refused
    index = vault.index("phone", phone)
    row = await session.get(SmsCode, index)
    if row is None:
        raise refused
    if (exhausted := _exhausted(row, now, policy)) is not None:
        raise exhausted
    if row.used or row.expires_at < now:
        raise refused
    window_end = _window_end(row)  # the row expires with a rollback below
    reserved = (await session.execute(
        update(SmsCode)
        .where(SmsCode.phone_index == index, SmsCode.attempts < policy.max_attempts)
        .values(attempts=SmsCode.attempts + 1)
        .returning(SmsCode.code_digest)
        .execution_options(synchronize_session=False)
    )).first()
    if reserved is None:  # a parallel guess took the last one
        await session.rollback()
        raise _too_many(window_end, now)
    if not hmac.compare_digest(reserved.code_digest, _code_digest(vault, index, code.strip())):
        await session.commit()
        raise refused
    won = await session.execute(
        update(SmsCode)
        .where(SmsCode.phone_index == index, SmsCode.used.is_(False), SmsCode.code_digest == reserved.code_digest)
        .values(used=True, attempts=SmsCode.attempts - 1)  # a right answer is not a wrong guess
        .execution_options(synchronize_session=False)
    )
    if won.rowcount != 1:
        await session.rollback()
        raise refused
    person = await session.get(PersonPhone, index)
    await session.commit()
    return index, person.person_id if person else None


async def _spend_wechat_code(session: AsyncSession, code: str, now: datetime) -> None:
    """Record the code before WeChat sees it: a second presentation is refused even if WeChat would answer."""
    await session.execute(delete(WechatCode).where(WechatCode.used_at < now - timedelta(days=1)))  # WeChat's live 5 minutes
    session.add(WechatCode(code_digest=digest(f"wx:{code}"), used_at=now))
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise wechat.invalid_code() from None


async def _person_of(session: AsyncSession, phone_index: str) -> uuid.UUID | None:
    person = await session.get(PersonPhone, phone_index)
    return person.person_id if person else None


async def sign_in_wechat(*, session: AsyncSession, client: wechat.Code2Session, code: str, now: datetime) -> tuple[str, uuid.UUID | None]:
    """The resident (phone index, person) a mini-program user is bound to; 409 wechat_unbound if none."""
    if client.single_use:
        await _spend_wechat_code(session, code, now)
    openid = await client.openid(code)
    binding = await session.get(WechatBinding, openid)
    if binding is None:
        raise Conflict("该微信尚未绑定居民身份，请先用手机验证码登录后绑定。", code="wechat_unbound")
    return binding.phone_index, await _person_of(session, binding.phone_index)


async def bind_wechat(
    *, session: AsyncSession, vault: Vault, client: wechat.Code2Session, principal: Principal, code: str, now: datetime
) -> None:
    """Bind the caller's mini-program openid to them, once; 409 wechat_bound if either side is bound elsewhere."""
    if not principal.phone_index:
        raise Conflict("该账号无法绑定微信。", code="wechat_bound")
    if client.single_use:
        await _spend_wechat_code(session, code, now)
    openid = await client.openid(code)
    existing = await session.get(WechatBinding, openid)
    if existing is not None and existing.phone_index == principal.phone_index:
        return  # bound already, to this resident: nothing to do
    taken = Conflict("该微信已绑定其他居民，或您已绑定其他微信。", code="wechat_bound")
    if existing is not None:
        raise taken
    if (await session.execute(select(WechatBinding.openid).where(WechatBinding.phone_index == principal.phone_index))).first():
        raise taken
    session.add(WechatBinding(openid=openid, phone_index=principal.phone_index, bound_at=now))
    person_id = await _person_of(session, principal.phone_index)
    bound = auth.WechatBound(phone_index=principal.phone_index, openid=openid, person_id=person_id,
                             openid_enc=vault.encrypt(openid))
    await outbox.add(session, bound, key=principal.phone_index)
    try:
        await session.commit()
    except IntegrityError:  # a concurrent binding won
        await session.rollback()
        raise taken from None


async def ensure_first_admin(*, session: AsyncSession, password: str | None, secret_file, now: datetime) -> str | None:
    """Create user ``admin`` if there is no admin; the generated password goes to ``secret_file`` (600)."""
    if (await session.execute(select(User.id).where(User.role == "admin").limit(1))).first():
        return None
    generated = password is None
    password = password or secrets.token_urlsafe(18)
    user = User(
        id=uuid.uuid4(), username="admin", password_hash=await passwords.hash_password(password), role="admin",
        regions=[], active=True, created_at=now, created_by="cordon",
    )
    session.add(user)
    await outbox.add(session, _user_event(auth.UserCreated, user), key=user.id)
    await session.commit()
    if generated:
        secret_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(password + "\n")
        return password
    return None


async def phone_still_bound(*, session: AsyncSession, phone_index: str | None, person_id: uuid.UUID) -> bool:
    """Whether a resident token's (phone, person) pair is still current.

    A resident token carries the blind index of the phone it was issued to and the person that
    phone belonged to. When a grid worker changes the person's phone, registry.person.updated
    moves the mapping here, and every token bound to the old number stops opening anything.
    """
    row = await session.get(PersonPhone, phone_index) if phone_index else None
    return row is not None and row.person_id == person_id


async def project_person(*, session: AsyncSession, person: PersonFacts) -> None:
    """Keep phone -> person current (a changed phone moves the mapping)."""
    await session.execute(delete(PersonPhone).where(PersonPhone.person_id == person.person_id))
    if person.phone_index:
        await session.execute(delete(PersonPhone).where(PersonPhone.phone_index == person.phone_index))
        session.add(PersonPhone(phone_index=person.phone_index, person_id=person.person_id))
