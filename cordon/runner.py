"""`cordon up`: the whole system on one machine, from nothing but Python.

Starts a nats-server (unless CORDON_NATS_URL is set), runs every service's
migrations, starts the four services and the gateway as child processes,
restarts a child that crashes (and its own nats-server, on the same port and
store), logging each restart, and stops everything on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from dataclasses import dataclass

from cordon import migrate, services
from cordon.natsserver import NatsServer, free_port, port_free, port_open
from cordon.settings import SERVICES, home_dir

DEFAULT_NATS_PORT = 4222
STOP_GRACE_S = 10.0
NATS_POLL_S = 0.2  # how often the runner looks whether its nats-server still runs


@dataclass
class Child:
    name: str
    port: int
    process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def ports(gateway_port: int) -> dict[str, int]:
    """The gateway's port, then the services on the next four."""
    return {"gateway": gateway_port, **{name: gateway_port + 1 + i for i, name in enumerate(SERVICES[:-1])}}


def serve_args(name: str, host: str, port: int) -> list[str]:
    """The `cordon` arguments that run one service: the runner's children and the containers alike."""
    return ["serve", name, "--host", host, "--port", str(port)]


def say(text: str) -> None:
    print(f"[cordon] {text}", file=sys.stderr, flush=True)


class Runner:
    def __init__(self, *, host: str = "127.0.0.1", gateway_port: int = 8000) -> None:
        env = os.environ  # each process checks its own secrets (refusals)
        self.home = home_dir().resolve()
        self.host = host
        self.production = env.get("CORDON_ENV", "dev") == "prod"
        self.nats_url = env.get("CORDON_NATS_URL") or None
        # Production's own nats-server asks for the same credentials the processes present.
        self.nats_user, self.nats_password = env.get("CORDON_NATS_USER"), env.get("CORDON_NATS_PASSWORD")
        self.nats: NatsServer | None = None
        self.children = {name: Child(name, port) for name, port in ports(gateway_port).items()}
        self.stopping = asyncio.Event()

    def env(self) -> dict[str, str]:
        env = dict(os.environ, CORDON_HOME=str(self.home), CORDON_NATS_URL=self.nats_url or "")
        for name, child in self.children.items():
            if name != "gateway":
                env[f"CORDON_{name.upper()}_URL"] = child.url
        return env

    def start_nats(self) -> None:
        if self.nats_url:
            say(f"using NATS at {self.nats_url}")
            return
        # The standard port when free, else any: a NATS already running is left alone.
        port = DEFAULT_NATS_PORT if not port_open(DEFAULT_NATS_PORT) else free_port()
        self.nats = NatsServer(store_dir=self.home / "nats", port=port, log_file=self.home / "nats.log",
                               user=self.nats_user if self.production else None, password=self.nats_password).start()
        self.nats_url = self.nats.url
        (self.home / "nats.url").write_text(self.nats_url + "\n")  # where `cordon dead-letters replay` finds it
        say(f"nats-server (JetStream) on {self.nats_url}, store {self.home / 'nats'}")

    async def spawn(self, child: Child) -> None:
        child.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cordon", *serve_args(child.name, self.host, child.port),
            env=self.env(),
            start_new_session=True,  # signals reach the runner only; it stops the children in order
        )

    async def supervise(self, child: Child) -> None:
        """Keep ``child`` running until we stop."""

        async def wait() -> int:
            return await child.process.wait()

        await self.keep(child.name, lambda: self.spawn(child), wait)

    async def supervise_nats(self) -> None:
        """Keep the runner's own nats-server running (same port, same store): the services reconnect to it."""
        nats = self.nats

        async def start() -> None:
            await asyncio.to_thread(nats.start)

        async def wait() -> int | None:
            while nats.process is not None and nats.process.poll() is None and not self.stopping.is_set():
                await asyncio.sleep(NATS_POLL_S)
            return nats.process.returncode if nats.process is not None else None

        await self.keep("nats-server", start, wait, running=True)

    async def keep(self, name: str, start, wait, *, running: bool = False) -> None:
        """Start a process and restart it when it dies, pausing 1, 2, 4 ... 30 s between tries (the pause
        starts over once it has run a minute), until we stop. ``running``: it was started already."""
        restarts = 0
        while not self.stopping.is_set():
            started_at = time.monotonic()
            try:
                if not running:
                    await start()
                code = await wait()
            except Exception as exc:  # noqa: BLE001 - a start that fails is retried like an exit
                code = f"a failed start ({type(exc).__name__}: {exc})"
            running = False
            if self.stopping.is_set():
                return
            if time.monotonic() - started_at > 60:
                restarts = 0
            restarts += 1
            pause = min(2 ** (restarts - 1), 30)
            say(f"{name} exited with {code}; restarting in {pause}s")
            try:
                await asyncio.wait_for(self.stopping.wait(), pause)
            except TimeoutError:
                pass

    async def stop_children(self) -> None:
        running = [c.process for c in self.children.values() if c.process and c.process.returncode is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.gather(*(p.wait() for p in running)), STOP_GRACE_S)
        except TimeoutError:
            for process in running:
                if process.returncode is None:
                    process.kill()

    def stop_nats(self) -> None:
        """Last: the services have stopped, so none of them sees NATS go away while it stops."""
        if self.nats is None:
            return
        if self.nats.process is not None and self.nats.process.poll() is None:
            say("services stopped; stopping nats-server")
        else:
            say("nats-server had stopped already")
        self.nats.stop()

    def taken_port(self) -> Child | None:
        """The first child whose port something else already holds: checked before anything starts,
        so a busy port is one clear line instead of a child restarting for ever behind the banner."""
        return next((c for c in self.children.values() if not port_free(c.port, self.host)), None)

    def refusals(self) -> list[str]:
        """Every process's missing secrets, checked before anything starts. Without CORDON_NATS_URL the runner
        starts NATS itself (with CORDON_NATS_USER and CORDON_NATS_PASSWORD in production)."""
        if self.nats_url:
            return services.refusals()
        lines = services.refusals(nats_url="nats://127.0.0.1:4222")
        if self.production and not (self.nats_user and self.nats_password):
            lines.append("cordon up cannot start its own NATS in production: missing CORDON_NATS_USER and "
                         "CORDON_NATS_PASSWORD (or set CORDON_NATS_URL to a NATS of your own)")
        return list(dict.fromkeys(lines))

    async def run(self) -> int:
        if refused := self.refusals():
            for line in refused:
                say(line)
            return 2
        if (busy := self.taken_port()) is not None:
            say(
                f"port {busy.port} on {self.host} ({busy.name}) is already in use: stop what holds it, or move "
                f"Cordon with CORDON_GATEWAY_PORT (the gateway's port; the services take the next four)"
            )
            return 2
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stopping.set)
        self.home.mkdir(parents=True, exist_ok=True)
        self.start_nats()
        try:
            say("running migrations")
            await asyncio.to_thread(migrate.upgrade_all, services.database_urls())
            supervisors = [asyncio.create_task(self.supervise(c)) for c in self.children.values()]
            if self.nats:
                supervisors.append(asyncio.create_task(self.supervise_nats()))
            self.announce()
            await self.stopping.wait()
            say("stopping the services")
            await self.stop_children()
            await asyncio.gather(*supervisors, return_exceptions=True)
        finally:
            self.stop_nats()
        say("stopped")
        return 0

    def announce(self) -> None:
        gateway = self.children["gateway"]
        lines = [f"gateway   {gateway.url}  (API under /api/v1, health at /readyz)"]
        lines += [f"{c.name:<9} {c.url}" for c in self.children.values() if c.name != "gateway"]
        lines += [f"nats      {self.nats_url}", f"data      {self.home}", "Ctrl-C stops everything."]
        say("Cordon is starting:\n  " + "\n  ".join(lines))


def up(*, host: str, gateway_port: int) -> int:
    return asyncio.run(Runner(host=host, gateway_port=gateway_port).run())
