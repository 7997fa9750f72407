"""The `cordon` command: run the system, migrate the databases, serve one process."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from importlib.metadata import entry_points

from cordon import migrate, services
from cordon.settings import SERVICES, database_url, home_dir

# The cyclic garbage collector's thresholds in a serving process (Python's default is 700, 10, 10, made for
# scripts). A push or an import keeps tens of thousands of young objects alive across a chunk, and with
# the default the collector scanned them again and again: a fifth of the registry's CPU during a push
# (bench/README.md, "The garbage collector"). Reference counting frees almost everything these processes
# make; the collector is only for cycles, and at these thresholds it still runs every few seconds under load.
COLLECTOR_THRESHOLDS = (50_000, 20, 20)


def _refused(lines: list[str]) -> int:
    """Each refusal on one line of stderr, no traceback; the exit code every start-up refusal shares."""
    for line in lines:
        print(f"[cordon] {line}", file=sys.stderr, flush=True)
    return 2


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    if refused := services.refusals([args.service]):  # before anything opens a port, a file or a connection
        return _refused(refused)

    gc.set_threshold(*COLLECTOR_THRESHOLDS)
    uvicorn.run(
        services.app_path(args.service),
        factory=True,
        host=args.host,
        port=args.port,
        log_config=None,  # the service configures JSON logging itself
        proxy_headers=False,  # the gateway reads X-Forwarded-For itself, from CORDON_TRUSTED_PROXIES only
        access_log=False,
    )
    return 0


def _migrate(args: argparse.Namespace) -> int:
    for name in args.service or SERVICES:
        url = database_url(name)
        if args.downgrade:
            migrate.downgrade(name, url, args.downgrade)
        else:
            migrate.upgrade(name, url)
        print(f"{name}: migrated")
    return 0


def _up(args: argparse.Namespace) -> int:
    from cordon import runner

    return runner.up(host=args.host, gateway_port=args.port)


def _pass_key(args: argparse.Namespace) -> int:
    from pathlib import Path

    from cordon import keys

    kid = keys.new_pass_key(Path(args.directory))
    print(f"new health-code pass key {kid} in {args.directory}: it signs from now on; older keys stay published "
          "until their passes have expired")
    return 0


def _seed(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from cordon import demo

    if not args.demo:
        print("cordon seed: 目前只有演示数据（--demo）", file=sys.stderr)
        return 2
    password = args.admin_password or os.environ.get("CORDON_ADMIN_PASSWORD")
    secret = home_dir() / "admin-password"
    if not password and secret.exists():
        password = secret.read_text().strip()
    if not password:
        print(f"cordon seed: 需要管理员密码（--admin-password、CORDON_ADMIN_PASSWORD 或 {secret}）", file=sys.stderr)
        return 2
    try:
        with Progress(transient=True) as bar:
            task = bar.add_task("登记人员", total=demo.PEOPLE)
            counts = demo.seed_demo(args.url, password, say=bar.console.print,
                                    progress=lambda done, total: bar.update(task, completed=done))
    except (demo.SeedFailed, OSError) as exc:  # httpx's connection errors are OSErrors too
        print(f"cordon seed: {exc}", file=sys.stderr)
        return 1
    print("演示数据已录入：" + "，".join(f"{k} {v}" for k, v in counts.items()) + f"。打开 {args.url}/console 查看。")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cordon", description="Cordon epidemic prevention and control platform")
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="start NATS (embedded), migrate, and run every service and the gateway")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=int, default=int(os.environ.get("CORDON_GATEWAY_PORT", 8000)), help="gateway port")
    up.set_defaults(func=_up)

    mig = commands.add_parser("migrate", help="run the services' database migrations")
    mig.add_argument("service", nargs="*", choices=[*SERVICES, []], help="default: all")
    mig.add_argument("--downgrade", metavar="REVISION", help="go down to REVISION instead (e.g. base)")
    mig.set_defaults(func=_migrate)

    serve = commands.add_parser("serve", help="run one service (what each container and the runner run)")
    serve.add_argument("service", choices=SERVICES)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, required=True)
    serve.set_defaults(func=_serve)

    rotate = commands.add_parser("pass-key", help="add a health-code pass key (rotation): the newest key signs")
    rotate.add_argument("directory", nargs="?", default=os.environ.get("CORDON_PASS_KEYS_DIR", ".cordon/keys/pass"),
                        help="the registry's pass key directory (CORDON_PASS_KEYS_DIR)")
    rotate.set_defaults(func=_pass_key)

    seed = commands.add_parser("seed", help="enter demonstration data through the running system's API")
    seed.add_argument("--demo", action="store_true", help="a county with townships, villages, grids, people, tests, leads, reports")
    seed.add_argument("--url", default=f"http://127.0.0.1:{os.environ.get('CORDON_GATEWAY_PORT', 8000)}", help="the gateway")
    seed.add_argument("--admin-password", help="default: CORDON_ADMIN_PASSWORD, else $CORDON_HOME/admin-password")
    seed.set_defaults(func=_seed)

    from cordon import ops

    ops.register(commands)
    # Each process's own operator commands (the gateway's users and partners), by entry point:
    # the kernel never imports a service or the gateway.
    for entry in sorted(entry_points(group="cordon.commands"), key=lambda e: e.name):
        entry.load()(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    from cordon.console import Refused, err

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except Refused as exc:
        err.print(f"[red]{exc.zh}[/red]", highlight=False)
        err.print(f"  {exc.en}", markup=False)
        return 1
