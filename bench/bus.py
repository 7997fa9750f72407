"""Throughput of the event bus: raw JetStream against Cordon's outbox -> relay -> JetStream -> inbox path.

    .venv/bin/python -m bench.bus [--events N] [--database sqlite|postgres] [--json PATH]

Three runs on one private nats-server, with the same N event payloads:

* baseline: nats-py alone. ``js.publish_async`` of every payload (all acks awaited), then a
  durable pull consumer (``fetch`` batches, ``ack`` each); events/s from the first publish to
  the last ack flushed to the server.
* Cordon, K events per transaction and 1 event per transaction: the test apps of
  ``tests/kernel/integration/noteapp.py`` ("notes" produces, "tally" consumes), each with its own
  fresh database, run in this process through their real lifespan (Bus, relay, consumer). The
  benchmark commits directly from the producer's sessionmaker (a ``note`` row and
  ``outbox.add`` per event, no HTTP); events/s from the first commit until the consumer's
  handler has written all N rows to ``received``.

Everything runs in one process and one event loop, as a service does (the producer, its relay and
the consumer share it). Private temp dirs for CORDON_HOME, SQLite files and the NATS store; on
PostgreSQL one temporary database per app, dropped at the end. The whole benchmark is bounded by
--budget (default 110 s): each run gets a share of what is left, and a run that reaches its share
stops and reports the events handled by then, marked as time-limited.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BASELINE_STREAM, BASELINE_SUBJECT = "BENCH_BASELINE", "bench.note.created"
POLL_S = 0.02  # how often the received count is read once the producer is done
RESERVE_S = 4.0  # set-up and tear-down of one run (schemas, lifespans, databases), outside its timing


@dataclass
class Result:
    name: str
    events: int  # events that completed the path within the time limit
    seconds: float
    per_txn: int | None = None
    timed_out: bool = False  # reached its share of --budget before all N completed
    duplicates: int = 0  # rows a handler wrote more than once (must stay 0)
    phases: dict[str, float] = field(default_factory=dict)  # seconds of each phase
    notes: str = ""

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


# --- environment and machine ---------------------------------------------------------------------


def prepare_env(tmp: Path) -> None:
    """Before cordon reads any settings: a private home (dev keys are generated there), dev mode."""
    os.environ["CORDON_HOME"] = str(tmp / "home")
    os.environ["CORDON_ENV"] = "dev"
    for name in ("CORDON_NATS_URL", "CORDON_DATABASE_URL", "CORDON_NOTES_DATABASE_URL", "CORDON_TALLY_DATABASE_URL"):
        os.environ.pop(name, None)


def machine_info() -> dict:
    """The machine (bench/common.py), with the nats-server measured."""
    from bench import common
    from cordon.natsserver import binary

    try:
        nats_version = subprocess.run([binary(), "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    except Exception as exc:  # reported, not fatal
        nats_version = f"unknown ({type(exc).__name__})"
    return {**common.machine_info(), "nats_server": nats_version, "platform": platform.platform()}


# --- databases -----------------------------------------------------------------------------------


class Databases:
    """Fresh databases for one run: SQLite files under a temp dir, or temporary PostgreSQL databases."""

    def __init__(self, backend: str, tmp: Path, postgres_url: str) -> None:
        self.backend, self.tmp, self.postgres_url = backend, tmp, postgres_url
        self.created: list[str] = []

    async def new(self, role: str) -> str:
        if self.backend == "sqlite":
            path = self.tmp / "db" / f"{role}-{secrets.token_hex(4)}.db"
            path.parent.mkdir(parents=True, exist_ok=True)
            return f"sqlite+aiosqlite:///{path}"
        import asyncpg
        from sqlalchemy.engine import make_url

        name = f"cordon_bench_{secrets.token_hex(6)}"
        conn = await asyncpg.connect(self.postgres_url, timeout=10)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        self.created.append(name)
        return make_url(self.postgres_url).set(drivername="postgresql+asyncpg", database=name).render_as_string(
            hide_password=False
        )

    async def drop_all(self) -> None:
        if not self.created:
            return
        import asyncpg

        conn = await asyncpg.connect(self.postgres_url, timeout=10)
        try:
            while self.created:
                await conn.execute(f'DROP DATABASE IF EXISTS "{self.created.pop()}" WITH (FORCE)')
        finally:
            await conn.close()

    async def describe(self) -> str:
        if self.backend == "sqlite":
            import sqlite3

            import aiosqlite

            return f"sqlite {sqlite3.sqlite_version} (aiosqlite {aiosqlite.__version__}), WAL, synchronous=NORMAL, temp files"
        import asyncpg

        conn = await asyncpg.connect(self.postgres_url, timeout=10)
        try:
            version = await conn.fetchval("SHOW server_version")
            sync = await conn.fetchval("SHOW synchronous_commit")
        finally:
            await conn.close()
        return f"postgres {version} (asyncpg {asyncpg.__version__}), synchronous_commit={sync}"


# --- payloads ------------------------------------------------------------------------------------


def make_items(n: int) -> list[tuple[uuid.UUID, str]]:
    """The N notes every run sends: (note id, text)."""
    return [(uuid.uuid4(), f"bench note {i:07d} " + "x" * 48) for i in range(n)]


def baseline_payloads(items) -> list[tuple[bytes, str]]:
    """The envelopes the relay would publish for these notes, and their Nats-Msg-Id."""
    from cordon.bus.envelope import wrap
    from tests.kernel.integration.noteapp import NoteCreated

    out = []
    for note_id, text in items:
        envelope = wrap(NoteCreated(note_id=note_id, text=text), source="cordon/notes", key=str(note_id))
        out.append((envelope.to_json(), str(envelope.id)))
    return out


# --- baseline ------------------------------------------------------------------------------------


async def run_baseline(nats_url: str, payloads: list[tuple[bytes, str]], timeout: float) -> Result:
    import nats
    import nats.js.errors

    from cordon.bus.consumer import FETCH_BATCH, ConsumerSpec
    from cordon.bus.streams import stream_config

    n = len(payloads)
    nc = await nats.connect(nats_url, connect_timeout=5, allow_reconnect=False)
    try:
        js = nc.jetstream(timeout=5)
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await js.delete_stream(BASELINE_STREAM)
        # The stream and consumer configurations Cordon uses, on a stream of their own.
        await js.add_stream(stream_config(BASELINE_STREAM, ["bench.>"]))
        config = ConsumerSpec(name="bench-baseline", stream=BASELINE_STREAM, handlers={BASELINE_SUBJECT: None}).config()
        await js.add_consumer(BASELINE_STREAM, config=config)
        sub = await js.pull_subscribe_bind(durable="bench-baseline", stream=BASELINE_STREAM)

        deadline = time.perf_counter() + timeout
        t0 = time.perf_counter()
        futures = [
            await js.publish_async(BASELINE_SUBJECT, data, headers={"Nats-Msg-Id": msg_id}) for data, msg_id in payloads
        ]
        await asyncio.wait_for(asyncio.gather(*futures), max(deadline - time.perf_counter(), 0.1))
        t_published = time.perf_counter()

        consumed, timed_out = 0, False
        while consumed < n:
            left = deadline - time.perf_counter()
            if left <= 0:
                timed_out = True
                break
            try:
                msgs = await sub.fetch(min(FETCH_BATCH, n - consumed), timeout=min(left, 5))
            except (TimeoutError, nats.errors.TimeoutError):
                continue
            for msg in msgs:
                await msg.ack()
            consumed += len(msgs)
        await nc.flush(timeout=10)  # the last ack has reached the server
        t_end = time.perf_counter()
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
        with contextlib.suppress(Exception):
            await js.delete_stream(BASELINE_STREAM)
    finally:
        await nc.close()
    return Result(
        name="baseline: raw JetStream (nats-py)",
        events=consumed,
        seconds=t_end - t0,
        timed_out=timed_out,
        phases={"publish": t_published - t0, "consume": t_end - t_published},
    )


# --- Cordon --------------------------------------------------------------------------------------


def bench_apps(notes_url: str, tally_url: str, nats_url: str):
    """The noteapp producer and consumer, as noteapp.notes_app / tally_app build them, logging at WARNING."""
    from cordon.app import create_service_app
    from cordon.settings import Settings
    from tests.kernel.integration import noteapp

    def settings(service: str, url: str) -> Settings:
        cls = type(f"{service.capitalize()}Settings", (Settings,), {"service": service})
        return cls(database_url=url, nats_url=nats_url, log_level="WARNING")

    notes = create_service_app(settings=settings("notes", notes_url), routers=[noteapp.router], streams=noteapp.STREAMS)
    tally = create_service_app(
        settings=settings("tally", tally_url), routers=[noteapp.router], consumers=[noteapp.TALLY], streams=noteapp.STREAMS
    )
    return notes, tally


async def reset_notes_stream(nats_url: str) -> None:
    """A fresh NOTES stream (and with it the tally consumer) for each run."""
    import nats
    import nats.js.errors

    from tests.kernel.integration import noteapp

    nc = await nats.connect(nats_url, connect_timeout=5, allow_reconnect=False)
    try:
        js = nc.jetstream(timeout=5)
        for stream in noteapp.STREAMS:
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await js.delete_stream(stream)
    finally:
        await nc.close()


async def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{what} not within {timeout}s")
        await asyncio.sleep(0.01)


async def run_cordon(
    items, per_txn: int, *, databases: Databases, nats_url: str, timeout: float, profile: Path | None
) -> Result:
    from sqlalchemy import insert

    from cordon.bus import outbox
    from tests.kernel.integration import noteapp
    from tests.kernel.integration.noteapp import NoteCreated

    n = len(items)
    notes_url, tally_url = await databases.new("notes"), await databases.new("tally")
    await noteapp.create_schema(notes_url)
    await noteapp.create_schema(tally_url)
    await reset_notes_stream(nats_url)
    notes, tally = bench_apps(notes_url, tally_url, nats_url)

    profiler = None
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(tally.router.lifespan_context(tally))
        await stack.enter_async_context(notes.router.lifespan_context(notes))
        await wait_until(lambda: notes.state.bus.ready and tally.state.bus.ready, 20, "bus connected")
        sessionmaker = notes.state.sessionmaker
        # The count must not disturb the consumer it measures. The kernel's SQLite engine begins
        # every transaction with BEGIN IMMEDIATE (the write lock), so on SQLite count through a
        # plain engine, whose reads take no lock in WAL mode; on PostgreSQL the app's own is fine.
        if databases.backend == "sqlite":
            from sqlalchemy.ext.asyncio import create_async_engine

            counter = create_async_engine(tally_url)
            stack.push_async_callback(counter.dispose)
        else:
            counter = tally.state.engine

        if profile is not None:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        deadline = time.perf_counter() + timeout
        timed_out = False
        t0 = time.perf_counter()
        committed = 0
        for start in range(0, n, per_txn):
            if time.perf_counter() > deadline:
                timed_out = True
                break
            async with sessionmaker() as session:
                for note_id, text in items[start : start + per_txn]:
                    await session.execute(insert(noteapp.note).values(id=note_id, text=text))
                    await outbox.add(session, NoteCreated(note_id=note_id, text=text), key=note_id)
                await session.commit()
            committed = min(start + per_txn, n)
        t_committed = time.perf_counter()

        handled = 0
        while True:
            handled = await noteapp.count(counter)
            if handled >= committed:
                break
            if time.perf_counter() > deadline:
                timed_out = True
                break
            await asyncio.sleep(POLL_S)
        t_end = time.perf_counter()
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(str(profile))

        await asyncio.sleep(0.3)  # a duplicate delivery, were there one, would show now
        final = await noteapp.count(counter)
    return Result(
        name=f"cordon: {per_txn} event{'s' if per_txn > 1 else ''}/transaction",
        events=min(handled, committed),
        seconds=t_end - t0,
        per_txn=per_txn,
        timed_out=timed_out,
        duplicates=max(final - committed, 0),
        phases={"commit": t_committed - t0, "drain": t_end - t_committed},
        notes=f"{committed} committed" if timed_out else "",
    )


# --- the whole run -------------------------------------------------------------------------------


async def run(args, tmp: Path) -> dict:
    from cordon.natsserver import NatsServer

    # SIGTERM (timeout, CI) cancels like Ctrl-C does, so that the cleanup below runs.
    with contextlib.suppress(NotImplementedError, RuntimeError):
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)

    machine = machine_info()
    databases = Databases(args.database, tmp, args.postgres_url)
    database = await databases.describe()
    items = make_items(args.events)
    payloads = baseline_payloads(items)
    payload_bytes = sum(len(data) for data, _ in payloads) / max(len(payloads), 1)

    server = NatsServer(store_dir=tmp / "nats").start()
    try:
        await server.wait_jetstream()
        batches = sorted(set(args.batch), reverse=True)

        def share(runs_left: int) -> float:
            """Time limit of the next run: an equal part of the budget left after set-up reserves."""
            left = args.budget_end - time.monotonic() - RESERVE_S * runs_left
            return max(left / runs_left, 5.0)

        results = [await run_baseline(server.url, payloads, min(share(len(batches) + 1), 30.0))]
        for i, per_txn in enumerate(batches):
            profile = None
            if args.profile:
                profile = Path(f"{args.profile}-{args.database}-k{per_txn}.prof")
                profile.parent.mkdir(parents=True, exist_ok=True)
            try:
                results.append(
                    await run_cordon(
                        items, per_txn, databases=databases, nats_url=server.url, timeout=share(len(batches) - i), profile=profile
                    )
                )
            finally:
                await databases.drop_all()
    finally:
        server.stop()
        await databases.drop_all()
    return {
        "events": args.events,
        "payload_bytes": round(payload_bytes),
        "database": args.database,
        "database_detail": database,
        "kernel": machine["code"],
        "machine": machine,
        "results": results,
    }


def report(out: dict) -> str:
    results: list[Result] = out["results"]
    base = results[0].rate
    m = out["machine"]
    cores = f"{m['cores']} cores" + (f" ({m['usable_cores']} usable)" if m["usable_cores"] != m["cores"] else "")
    lines = [
        f"Cordon event bus benchmark: {out['events']} events of ~{out['payload_bytes']} bytes",
        f"machine:  {m['cpu']}, {cores}, Python {m['python']}, {m['nats_server']}",
        f"database: {out['database_detail']}",
        f"kernel:   {out['kernel']}",
        f"load:     {m['load_average'][0]:.2f} (1-minute load average before the runs; other work on the machine skews the figures)"
        if m.get("load_average")
        else "load:     unknown",
        "",
        f"{'run':<36} {'events/s':>10} {'seconds':>8} {'vs baseline':>12}   phases",
    ]
    for r in results:
        phases = ", ".join(f"{k} {v:.2f}s" for k, v in r.phases.items())
        extra = f"  [time limit: {r.events} of {out['events']} handled" + (f", {r.notes}]" if r.notes else "]") if r.timed_out else ""
        if r.duplicates:
            extra += f"  [WRONG: {r.duplicates} events handled twice]"
        ratio = r.rate / base if base else 0.0
        lines.append(f"{r.name:<36} {r.rate:>10,.0f} {r.seconds:>8.2f} {ratio:>12.3f}   {phases}{extra}")
    return "\n".join(lines)


def to_json(out: dict) -> dict:
    base = out["results"][0].rate
    results = []
    for r in out["results"]:
        entry = asdict(r)
        entry["events_per_s"] = round(r.rate, 1)
        entry["ratio_to_baseline"] = round(r.rate / base, 4) if base else None
        results.append(entry)
    return {**{k: v for k, v in out.items() if k != "results"}, "results": results}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.bus", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=20000, help="events per run (default 20000)")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--postgres-url", default="postgresql://127.0.0.1:5432/test", help="admin database to create the temporary ones from")
    parser.add_argument("--batch", type=int, action="append", help="events per transaction, repeatable (default: 100 and 1)")
    parser.add_argument("--budget", type=float, default=110.0, help="time limit of the whole benchmark, seconds (default 110)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--profile", metavar="PREFIX", help="cProfile each Cordon run into PREFIX-<database>-k<K>.prof")
    parser.add_argument("--record", action="store_true", help="keep the run's row for the README table (bench/results.json)")
    args = parser.parse_args(argv)
    args.batch = args.batch or [100, 1]
    if args.events < 1 or any(k < 1 for k in args.batch):
        parser.error("--events and --batch must be positive")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    args.budget_end = time.monotonic() + args.budget
    tmp = Path(tempfile.mkdtemp(prefix="cordon-bench-bus-"))
    try:
        prepare_env(tmp)
        # The runs keep to the budget; this bounds anything else that might hang (start-up, shutdown).
        out = asyncio.run(asyncio.wait_for(run(args, tmp), args.budget + 60))
    except (asyncio.CancelledError, KeyboardInterrupt):
        print("interrupted: nats-server stopped, temporary databases and files removed", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(report(out))
    if args.json:
        Path(args.json).write_text(json.dumps(to_json(out), indent=2) + "\n")
    if any(r.timed_out for r in out["results"]):
        print("\nSome runs reached their time limit: their events/s count the events handled by then.")
    failed = any(r.events == 0 or r.duplicates for r in out["results"])
    if args.record and not failed and not args.profile and not any(r.timed_out for r in out["results"]):
        record(out)
    return 1 if failed else 0


def record(out: dict) -> None:
    from bench.common import keep_row

    base, runs = out["results"][0], out["results"][1:]
    keep_row(f"bench/bus.py ({out['database']})", machine=out["machine"],
             what=f"{out['events']:,} events: commit → outbox → relay → JetStream → consumer inbox → handler ({out['database']})",
             cordon="; ".join(f"{r.rate:,.0f} events/s {r.name.split(':', 1)[-1].strip()}" for r in runs),
             baseline=f"raw nats-py JetStream publish + consume {base.rate:,.0f} events/s",
             ratio="; ".join(f"{r.rate / base.rate:.3f}" for r in runs) + " (target ≥ 0.3)")


if __name__ == "__main__":
    sys.exit(main())
