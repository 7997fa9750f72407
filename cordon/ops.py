"""Operators' commands on what every service's database holds: dead letters and the outbox.

A dead letter is a message a consumer gave up on (``dead_letter``, in the consuming service's own
database); an operator lists it, reads it, sends it back to that one consumer (``replay``: published
again to its subject with the ``Cordon-Replay-For`` header, so every other consumer of the subject
acknowledges it unread), or drops it. A letter is named ``<service>:<id>``, e.g. ``notify:3``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from cordon import console, keys, services
from cordon.bus import stats
from cordon.bus.consumer import REPLAY_FOR
from cordon.bus.tables import dead_letter
from cordon.console import Refused, say
from cordon.settings import SERVICES, Settings, home_dir

DEFAULT_NATS = "nats://127.0.0.1:4222"

def nats_url() -> str:
    """CORDON_NATS_URL; else the URL `cordon up` wrote for its own nats-server; else the default port."""
    url = os.environ.get("CORDON_NATS_URL")
    if url:
        return url
    recorded = home_dir() / "nats.url"
    return recorded.read_text().strip() if recorded.exists() else DEFAULT_NATS

def _ref(text: str) -> tuple[str, int]:
    service, _, number = text.partition(":")
    if service not in SERVICES or not number.isdigit():
        raise Refused(f"死信编号 {text!r} 无效，应为“服务:编号”，如 notify:3。",
                      f"{text!r} names no dead letter: write <service>:<id>, e.g. notify:3.")
    return service, int(number)

def _letter(row, service: str) -> dict:
    return {
        "ref": f"{service}:{row.id}", "service": service, "consumer": row.consumer, "subject": row.nats_subject,
        "event_id": row.event_id, "deliveries": row.deliveries, "created_at": row.created_at.isoformat(),
        "error": row.error,
    }

async def _letters(service: str, session: AsyncSession, ids: list[int] | None = None) -> list:
    query = select(dead_letter).order_by(dead_letter.c.id)
    if ids is not None:
        query = query.where(dead_letter.c.id.in_(ids))
    return list((await session.execute(query)).all())

def _chosen(args) -> list[str]:
    return [args.service] if getattr(args, "service", None) else list(SERVICES)

def dead_letters_list(args: argparse.Namespace) -> int:
    async def work():
        found = []
        for service in _chosen(args):
            rows = await console.with_session(service, lambda s, service=service: _letters(service, s))
            found += [_letter(r, service) for r in rows]
        return found

    letters = console.run(work)
    if args.json:
        console.as_json(letters)
        return 0
    if not letters:
        say("没有死信。", "No dead letters.")
        return 0
    console.table(
        ["编号 ref", "消费者 consumer", "主题 subject", "事件 event", "投递 deliveries", "时间 at (UTC)", "错误 error"],
        [(x["ref"], x["consumer"], x["subject"], x["event_id"], x["deliveries"], x["created_at"][:19], x["error"][:80])
         for x in letters],
    )
    say(f"共 {len(letters)} 条死信。", f"{len(letters)} dead letter(s).")
    return 0

def dead_letters_show(args: argparse.Namespace) -> int:
    service, number = _ref(args.ref)
    rows = console.run(lambda: console.with_session(service, lambda s: _letters(service, s, [number])))
    if not rows:
        raise Refused(f"没有死信 {args.ref}。", f"No dead letter {args.ref}.")
    letter = _letter(rows[0], service)
    try:
        letter["payload"] = json.loads(rows[0].payload)
    except ValueError:
        letter["payload"] = rows[0].payload
    if args.json:
        console.as_json(letter)
        return 0
    for label, key in (("编号 ref", "ref"), ("消费者 consumer", "consumer"), ("主题 subject", "subject"),
                       ("事件 event", "event_id"), ("投递次数 deliveries", "deliveries"), ("时间 at", "created_at"),
                       ("错误 error", "error")):
        console.out.print(f"{label}: {letter[key]}", markup=False)
    console.out.print("内容 payload:", markup=False)
    console.out.print_json(data=letter["payload"]) if isinstance(letter["payload"], dict) else console.out.print(
        letter["payload"], markup=False)
    return 0

def _targets(args) -> dict[str, list[int] | None]:
    """service -> the letters' ids (None: all of that service's)."""
    if args.all and args.refs:
        raise Refused("请指定死信编号或 --all，不能同时指定。", "Name letters or --all, not both.")
    if args.all:
        return {service: None for service in _chosen(args)}
    if not args.refs:
        raise Refused("请指定死信编号（如 notify:3）或 --all。", "Name the letters (e.g. notify:3) or --all.")
    chosen: dict[str, list[int] | None] = {}
    for ref in args.refs:
        service, number = _ref(ref)
        chosen.setdefault(service, []).append(number)
    return chosen

def dead_letters_replay(args: argparse.Namespace) -> int:
    import nats

    from cordon.bus import runtime

    async def work() -> tuple[int, list[str]]:
        url = nats_url()

        async def quiet(exc: Exception) -> None:  # nats-py would print each failed try's traceback
            pass

        try:  # a cluster's URL names each node; the credentials: production asks for them
            nc = await nats.connect(runtime.servers(url), connect_timeout=5, max_reconnect_attempts=2, error_cb=quiet,
                                    **Settings().nats_options())
        except (OSError, TimeoutError, nats.errors.Error) as exc:
            raise Refused(f"无法连接 NATS（{url}）：{exc}", f"Cannot reach NATS at {url}: {exc}") from None
        js = nc.jetstream(timeout=10)
        sent, missing = 0, []
        try:
            with console.progress() as bar:
                for service, ids in _targets(args).items():
                    async with console.session_of(service) as session:
                        rows = await _letters(service, session, ids)
                        await session.rollback()  # the read's transaction: each letter goes in its own below
                        found = {r.id for r in rows}
                        missing += [f"{service}:{i}" for i in (ids or []) if i not in found]
                        task = bar.add_task(f"重新投递 replaying {service}", total=len(rows))
                        for row in rows:
                            # Deleted and published in one transaction: a failed publish keeps the letter;
                            # a second failure of the consumer sets it aside again, as a new letter.
                            async with session.begin():
                                await session.execute(delete(dead_letter).where(dead_letter.c.id == row.id))
                                await js.publish(
                                    row.nats_subject, row.payload.encode(),
                                    headers={"Nats-Msg-Id": f"replay-{service}-{row.id}-{uuid.uuid4().hex}",
                                             REPLAY_FOR: row.consumer},
                                )
                            sent += 1
                            bar.advance(task)
                            say(f"已重新投递 {service}:{row.id}（事件 {row.event_id}，主题 {row.nats_subject}）给消费者 {row.consumer}。",
                                f"Sent {service}:{row.id} (event {row.event_id}, {row.nats_subject}) back to consumer {row.consumer}.")
        finally:
            await nc.close()
        return sent, missing

    sent, missing = console.run(work)
    say(f"共重新投递 {sent} 条死信；若再次失败，将重新列入死信。",
        f"{sent} dead letter(s) sent back; one that fails again is set aside again.")
    if missing:
        raise Refused(f"没有这些死信：{', '.join(missing)}。", f"No such dead letters: {', '.join(missing)}.")
    return 0

def dead_letters_drop(args: argparse.Namespace) -> int:
    async def work() -> tuple[int, list[str]]:
        dropped, missing = 0, []
        with console.progress() as bar:
            targets = _targets(args)
            task = bar.add_task("删除 dropping", total=len(targets))
            for service, ids in targets.items():
                async with console.session_of(service) as session, session.begin():
                    query = delete(dead_letter).returning(dead_letter.c.id)
                    if ids is not None:
                        query = query.where(dead_letter.c.id.in_(ids))
                    gone = set((await session.execute(query)).scalars())
                dropped += len(gone)
                missing += [f"{service}:{i}" for i in (ids or []) if i not in gone]
                for i in sorted(gone):
                    say(f"已删除死信 {service}:{i}。", f"Dropped dead letter {service}:{i}.")
                bar.advance(task)
        return dropped, missing

    dropped, missing = console.run(work)
    say(f"共删除 {dropped} 条死信。", f"{dropped} dead letter(s) dropped.")
    if missing:
        raise Refused(f"没有这些死信：{', '.join(missing)}。", f"No such dead letters: {', '.join(missing)}.")
    return 0

def outbox_status(args: argparse.Namespace) -> int:
    async def work() -> list[dict]:
        now = datetime.now(UTC)
        found = []
        for service in _chosen(args):
            backlog = await console.with_session(service, stats.backlog)
            found.append({
                "service": service, "unsent": backlog.unsent, "failing": backlog.failing,
                "oldest_unsent_at": backlog.oldest.isoformat() if backlog.oldest else None,
                "oldest_unsent_age_s": round(backlog.oldest_age_s(now), 1),
            })
        return found

    status = console.run(work)
    if args.json:
        console.as_json(status)
        return 0
    console.table(
        ["服务 service", "待发送 unsent", "发送失败 failing", "最早未发送 oldest unsent (UTC)", "已等待 waiting (s)"],
        [(s["service"], s["unsent"], s["failing"], (s["oldest_unsent_at"] or "-")[:19], s["oldest_unsent_age_s"])
         for s in status],
    )
    total = sum(s["unsent"] for s in status)
    say(f"发件箱共有 {total} 条事件待发送。", f"{total} event(s) wait in the outboxes.")
    return 0

def _key_files(args) -> tuple[Path, Path]:
    if args.private and args.public:
        return Path(args.private), Path(args.public)
    settings = services.settings("gateway")  # in dev this makes the first pair if there is none
    return Path(args.private or settings.jwt_private_key_file), Path(args.public or settings.jwt_public_key_file)


def rotate_keys(args: argparse.Namespace) -> int:
    private, public = _key_files(args)
    if args.retire:
        _, signing = keys.signing_key(private)
        try:
            left = keys.retire_jwt_key(public, args.retire, signing)
        except ValueError:
            raise Refused(f"{args.retire} 是当前签名密钥，不能停用。", f"{args.retire} is the signing key; it cannot be retired.") from None
        except KeyError:
            raise Refused(f"公钥文件中没有 {args.retire}。", f"{public} holds no key {args.retire}.") from None
        say(f"已停用公钥 {args.retire}：由它签发的令牌即刻失效。现有公钥：{'、'.join(left)}。",
            f"Retired key {args.retire}: tokens it signed are refused from now on. Keys kept: {', '.join(left)}.")
        return 0
    kid, kept = keys.rotate_jwt_keys(private, public)
    say(f"已生成新的签名密钥 {kid}（私钥 {private}，公钥已加入 {public}）。网关即刻用它签发令牌；"
        f"此前签发的令牌在到期前仍然有效（公钥文件共 {len(kept)} 把：{'、'.join(kept)}）。",
        f"New signing key {kid} (private {private}; its public half added to {public}). The gateway signs with it "
        f"from now on; tokens signed before stay valid until they expire ({len(kept)} key(s) kept: {', '.join(kept)}).")
    say("所有令牌到期后（居民令牌最长 7 天），可用 `cordon rotate-keys --retire <kid>` 停用旧公钥。",
        "Once those tokens have expired (resident tokens last up to 7 days), `cordon rotate-keys --retire <kid>` drops an old key.")
    return 0


def export_keys(args: argparse.Namespace) -> int:
    _, public = _key_files(args)
    pem = public.read_text()
    if args.pem:
        sys.stdout.write("".join(keys.public_pem(k).decode() for k in keys.public_keys(pem).values()))
    else:
        console.as_json(keys.jwks(pem))
    return 0


def register(commands) -> None:
    for name, func, text in (
        ("rotate-keys", rotate_keys, "轮换网关的 JWT 签名密钥（按 kid 验证，旧令牌到期前有效）(rotate the gateway's JWT pair)"),
        ("export-keys", export_keys, "导出 JWT 公钥（JWKS，或 --pem）(export the JWT public keys)"),
    ):
        cmd = commands.add_parser(name, help=text)
        cmd.add_argument("--private", help="the private key file (default: CORDON_JWT_PRIVATE_KEY_FILE)")
        cmd.add_argument("--public", help="the public key file (default: CORDON_JWT_PUBLIC_KEY_FILE)")
        if name == "rotate-keys":
            cmd.add_argument("--retire", metavar="KID", help="drop this old public key instead of rotating")
        else:
            cmd.add_argument("--pem", action="store_true", help="PEM blocks instead of a JWKS")
        cmd.set_defaults(func=func)

    letters = commands.add_parser("dead-letters", help="死信：列出、查看、重新投递、删除 (dead letters: list, show, replay, drop)")
    sub = letters.add_subparsers(dest="action", required=True)
    ls = sub.add_parser("list", help="列出死信 (list)")
    ls.add_argument("--service", choices=SERVICES)
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=dead_letters_list)
    show = sub.add_parser("show", help="查看一条死信 (show one)")
    show.add_argument("ref", help="<service>:<id>, e.g. notify:3")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=dead_letters_show)
    for name, func, zh in (("replay", dead_letters_replay, "重新投递给原消费者 (send back to its consumer)"),
                           ("drop", dead_letters_drop, "删除 (drop)")):
        act = sub.add_parser(name, help=zh)
        act.add_argument("refs", nargs="*", help="<service>:<id> ...")
        act.add_argument("--all", action="store_true", help="every letter (of --service, if given)")
        act.add_argument("--service", choices=SERVICES)
        act.set_defaults(func=func)

    box = commands.add_parser("outbox", help="发件箱 (outbox)")
    sub = box.add_subparsers(dest="action", required=True)
    status = sub.add_parser("status", help="每个服务待发送的事件数及最早一条已等待的时间 (backlog and oldest unsent age per service)")
    status.add_argument("--service", choices=SERVICES)
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=outbox_status)
