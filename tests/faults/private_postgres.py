"""A private PostgreSQL cluster for a fault test: initdb in a temporary directory, a free port, trust auth.

Restarting the machine's shared server would break every other test running on it; this
cluster is the test's alone, and is stopped and removed afterwards. As root, the server
runs as the ``postgres`` user (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from cordon.natsserver import free_port


def _bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for directory in versions:
        if (directory / name).exists():
            return str(directory / name)
    raise RuntimeError(f"{name} not found: install PostgreSQL")


class PrivatePostgres:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="cordon-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)

    def run(self, *args: str, timeout: float = 60) -> None:
        cmd = [_bin(args[0]), *args[1:]]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        subprocess.run(cmd, check=True, timeout=timeout, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def pg_ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run("pg_ctl", action, "-D", str(self.data), "-w", "-t", "60", "-l", str(self.root / "log"), "-o", options, *extra)

    def start(self) -> PrivatePostgres:
        self.run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.pg_ctl("start")
        return self

    def restart(self) -> None:
        """Stop (closing every connection, as a restart of the server does) and start again."""
        self.pg_ctl("restart", "-m", "fast")

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    async def new_database(self, name: str) -> str:
        import asyncpg

        database = f"cordon_fault_{name}_{uuid.uuid4().hex[:8]}"
        conn = await asyncpg.connect(self.url)
        try:
            await conn.execute(f'CREATE DATABASE "{database}"')
        finally:
            await conn.close()
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"


class Databases:
    """The ``databases`` fixture's shape (``await new(name)``), on the private cluster."""

    backend = "postgresql"

    def __init__(self, cluster: PrivatePostgres) -> None:
        self.cluster = cluster

    async def new(self, name: str) -> str:
        return await self.cluster.new_database(name)
