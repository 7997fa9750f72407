"""The gateway's commands for operators (`cordon users ...`, `cordon partners ...`), run against its database.

Found by the kernel's CLI through the ``cordon.commands`` entry points (the kernel never imports the gateway).
"""

from __future__ import annotations

import argparse
import getpass
import secrets
import sys
import uuid

from pydantic import ValidationError
from sqlalchemy import select

from cordon import console, messages, services
from cordon.auth import STAFF, Principal
from cordon.console import Refused, say
from cordon.errors import DomainError
from cordon.pii import Vault
from gateway.auth import api, service
from gateway.models import PARTNER_SCOPES, Partner, User

OPERATOR = Principal(subject="cordon-cli", role="admin", username=f"cli:{getpass.getuser()}")


def _codes(text: str | None) -> list[str]:
    return [c.strip() for c in (text or "").split(",") if c.strip()]


def _password(args) -> tuple[str, bool]:
    """From stdin (--password-stdin: nothing on the command line, where `ps` shows it), else generated."""
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
        if not password:
            raise Refused("标准输入中没有密码。", "No password on standard input.")
        return password, False
    return secrets.token_urlsafe(18), True


def _refused(exc: DomainError | ValidationError) -> Refused:
    if isinstance(exc, ValidationError):
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return Refused(f"输入有误：{detail}", f"Invalid input: {detail}")
    known = messages.CODES.get(exc.code)
    return Refused(f"未能完成（{exc.code}）：{known.zh if known else exc.detail}", f"Not done ({exc.code}): {exc.detail}")


def _run(work):
    try:
        return console.run(lambda: console.with_session("gateway", work))
    except (DomainError, ValidationError) as exc:
        raise _refused(exc) from None


def users_create(args: argparse.Namespace) -> int:
    password, generated = _password(args)
    try:
        data = api.UserCreate(username=args.username, password=password, role=args.role, regions=_codes(args.regions),
                              phone=args.phone)
    except ValidationError as exc:
        raise _refused(exc) from None
    settings = services.settings("gateway")
    vault = Vault.from_hex(settings.pii_index_key, settings.pii_encryption_key)
    user = _run(lambda s: service.create_user(session=s, vault=vault, principal=OPERATOR, data=data,
                                              now=console.now()))
    regions = "、".join(user.regions) or "未限定"
    say(f"已创建用户 {user.username}（角色 {user.role}，辖区 {regions}）。",
        f"Created user {user.username} (role {user.role}, regions {', '.join(user.regions) or 'none'}).")
    if generated:
        say(f"初始密码（仅显示这一次）：{password}", f"Initial password (shown this once): {password}")
    return 0


def users_reset_password(args: argparse.Namespace) -> int:
    password, generated = _password(args)
    user = _run(lambda s: service.reset_password(session=s, username=args.username, password=password))
    say(f"已重置用户 {user.username} 的密码，旧密码即刻失效。",
        f"Reset the password of {user.username}; the old one no longer signs in.")
    if generated:
        say(f"新密码（仅显示这一次）：{password}", f"New password (shown this once): {password}")
    return 0


def users_deactivate(args: argparse.Namespace) -> int:
    user, changed = _run(lambda s: service.deactivate_user(session=s, username=args.username))
    if changed:
        say(f"已停用用户 {user.username}：不能再登录，其访问令牌在 5 秒内被网关拒绝。",
            f"Deactivated {user.username}: no more sign-ins, and the gateway refuses their tokens within 5 s.")
    else:
        say(f"用户 {user.username} 此前已停用，未作改动。", f"{user.username} was already deactivated; nothing changed.")
    return 0


def users_list(args: argparse.Namespace) -> int:
    async def work(session):
        return list((await session.execute(select(User).order_by(User.username))).scalars())

    users = _run(work)
    rows = [{"id": str(u.id), "username": u.username, "role": u.role, "regions": u.regions, "active": u.active,
             "phone": u.phone_masked, "created_at": u.created_at.isoformat(), "created_by": u.created_by} for u in users]
    if args.json:
        console.as_json(rows)
        return 0
    console.table(["用户名 username", "角色 role", "辖区 regions", "状态 status", "手机 phone", "创建 created (UTC)"],
                  [(r["username"], r["role"], ",".join(r["regions"]), "启用 active" if r["active"] else "停用 deactivated",
                    r["phone"] or "", r["created_at"][:19]) for r in rows])
    say(f"共 {len(rows)} 个工作人员账号。", f"{len(rows)} staff account(s).")
    return 0


def partners_create(args: argparse.Namespace) -> int:
    try:
        data = api.PartnerCreate(name=args.name, scopes=_codes(args.scopes) or ["travel_records"],
                                 regions=_codes(args.regions))
    except ValidationError as exc:
        raise _refused(exc) from None
    partner, key = _run(lambda s: service.create_partner(session=s, data=data, now=console.now()))
    say(f"已创建合作方 {partner.name}（编号 {partner.id}，权限 {'、'.join(partner.scopes)}，地区 {'、'.join(partner.regions) or '不限'}）。",
        f"Created partner {partner.name} (id {partner.id}, scopes {', '.join(partner.scopes)}, "
        f"regions {', '.join(partner.regions) or 'any'}).")
    say(f"API 密钥（仅显示这一次，只保存其摘要）：{key}", f"API key (shown this once; only its digest is kept): {key}")
    return 0


def partners_revoke(args: argparse.Namespace) -> int:
    async def work(session):
        try:
            partner_id = uuid.UUID(args.partner)
        except ValueError:
            named = list((await session.execute(select(Partner.id).where(Partner.name == args.partner))).scalars())
            if len(named) != 1:
                raise Refused(f"没有唯一名为 {args.partner!r} 的合作方，请使用编号。",
                              f"No single partner named {args.partner!r}; give its id.") from None
            partner_id = named[0]
        return await service.revoke_partner(session=session, partner_id=partner_id)

    partner, changed = _run(work)
    if changed:
        say(f"已吊销合作方 {partner.name}（{partner.id}）的 API 密钥，网关在 5 秒内开始拒绝该密钥。",
            f"Revoked the API key of {partner.name} ({partner.id}); the gateway refuses it within 5 s.")
    else:
        say(f"合作方 {partner.name} 的密钥此前已吊销，未作改动。", f"{partner.name}'s key was already revoked; nothing changed.")
    return 0


def partners_list(args: argparse.Namespace) -> int:
    partners = _run(lambda s: service.list_partners(session=s))
    rows = [{"id": str(p.id), "name": p.name, "scopes": p.scopes, "regions": p.regions, "active": p.active,
             "created_at": p.created_at.isoformat()} for p in partners]
    if args.json:
        console.as_json(rows)
        return 0
    console.table(["编号 id", "名称 name", "权限 scopes", "地区 regions", "状态 status", "创建 created (UTC)"],
                  [(r["id"], r["name"], ",".join(r["scopes"]), ",".join(r["regions"]),
                    "有效 active" if r["active"] else "已吊销 revoked", r["created_at"][:19]) for r in rows])
    say(f"共 {len(rows)} 个合作方。", f"{len(rows)} partner(s).")
    return 0


def register(commands) -> None:
    users = commands.add_parser("users", help="工作人员账号 (staff accounts)")
    sub = users.add_subparsers(dest="action", required=True)
    create = sub.add_parser("create", help="创建账号 (create)")
    create.add_argument("username")
    create.add_argument("--role", required=True, choices=STAFF)
    create.add_argument("--regions", help="comma-separated region codes (officials and grid workers need one)")
    create.add_argument("--phone")
    create.add_argument("--password-stdin", action="store_true", help="read the password from stdin; else one is generated")
    create.set_defaults(func=users_create)
    reset = sub.add_parser("reset-password", help="重置密码 (reset the password)")
    reset.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true", help="read the password from stdin; else one is generated")
    reset.set_defaults(func=users_reset_password)
    deactivate = sub.add_parser("deactivate", help="停用账号：不能登录，令牌失效 (deactivate: no sign-in, tokens refused)")
    deactivate.add_argument("username")
    deactivate.set_defaults(func=users_deactivate)
    ls = sub.add_parser("list", help="列出账号 (list)")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=users_list)

    partners = commands.add_parser("partners", help="合作方及其 API 密钥 (partners and their API keys)")
    sub = partners.add_subparsers(dest="action", required=True)
    create = sub.add_parser("create", help="创建合作方，显示一次 API 密钥 (create; shows the key once)")
    create.add_argument("name")
    create.add_argument("--scopes", default="travel_records", help=f"comma-separated: {', '.join(PARTNER_SCOPES)}")
    create.add_argument("--regions", help="comma-separated region codes where a gate stands")
    create.set_defaults(func=partners_create)
    revoke = sub.add_parser("revoke", help="吊销 API 密钥 (revoke the key)")
    revoke.add_argument("partner", help="the partner's id (or its name, if unique)")
    revoke.set_defaults(func=partners_revoke)
    ls = sub.add_parser("list", help="列出合作方 (list)")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=partners_list)
