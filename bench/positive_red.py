"""A positive result to a red code through the whole system, while a partner's travel push runs.

    .venv/bin/python -m bench.positive_red [--people 400] [--results 200] [--records 200000] [--record]

One run, everything started here and stopped here: a private CORDON_HOME, one nats-server with JetStream
shared by both services, and two services each in its own process (``python -m cordon serve``) on its own
temporary PostgreSQL database (migrated, dropped at the end): the registry and testing.

* setup (untimed): --people people registered through the registry's ``POST /persons`` (their
  ``registry.person.registered`` events reach testing's person projection), and one single-tube sample
  each taken through testing's ``POST /samples/batch`` an hour ago. Every one is green.
* loaded: a partner pushes --records travel records (NDJSON, requests of --batch records streamed from an
  async generator, as ``bench/travel_ingest.py`` does; none names a registered person and no area is
  high-risk, so the push is ingest and matching only) to the registry's ``POST /travel-records/batch``.
  While it runs, a lab records a positive result for one person after another (``POST /results``, the
  person's barcode) at a pace that spreads --results results over the push (the rest of the push estimated
  from the records sent so far). Each result's latency runs from the request sent until the person's
  row of the registry's health-code read model (what ``GET /persons/{id}/health-code`` answers) reads red:
  testing commits the result and its ``testing.result.recorded`` event, the relay publishes it to
  JetStream, the registry's consumer applies it and the code turns. The read model is polled every
  --poll seconds for every result in flight: that is the resolution of each latency.
* quiet (baseline, the same run): once the bus has settled after the push, as many results for other
  people, sent at the same moments relative to the first (the loaded phase's schedule replayed), with no
  push. The ratio is quiet p99 / loaded p99.

The run is correct when every result answered 201, every person given one reads red through
``GET /api/v1/persons/{id}/health-code`` at the end, and the push accepted and stored every record; the
exit status is 1 otherwise, or when a result was not red within --timeout seconds. The aim: p99 < 1 s
while the push runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402  (after the path fix)
    ADMIN_URL,
    ServiceProcess,
    TempDatabase,
    code_revision,
    id_number,
    in_private_home,
    keep_row,
    machine_info,
    machine_line,
    progress,
    run_vault,
    service_on_postgres,
    settle,
    signed_token,
)

API = "/api/v1"
COUNTY = "320413"  # where every person lives; the official's and the lab's tokens cover 320000
PARTNER = "partner-bench"


# --- setup: people and their samples -------------------------------------------------------------


@dataclass
class Person:
    i: int
    id: str
    barcode: str


async def register_people(client, registry: ServiceProcess, token: str, count: int, concurrency: int = 8) -> list[Person]:
    """``count`` people through the registry's POST /persons, in the order of ``i``."""
    headers = {"Authorization": f"Bearer {token}"}
    people: dict[int, Person] = {}
    queue = iter(range(count))

    async def worker() -> None:
        for i in queue:
            body = {"id_number": id_number(i, COUNTY), "name": f"Bench Person {i}", "phone": f"139{i:08d}", "region_code": COUNTY}
            answer = await client.post(f"{registry.base_url}{API}/persons", json=body, headers=headers)
            if answer.status_code != 201:
                raise RuntimeError(f"registering person {i}: {answer.status_code} {answer.text[:300]}")
            people[i] = Person(i, answer.json()["id"], f"PR{i:07d}")

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return [people[i] for i in range(count)]


async def take_samples(client, testing: ServiceProcess, token: str, people: list[Person], now: datetime) -> None:
    import orjson

    collected = (now - timedelta(hours=1)).isoformat()
    body = b"".join(orjson.dumps({"barcode": p.barcode, "id_number": id_number(p.i, COUNTY), "collected_at": collected,
                                  "site": "bench-site"}) + b"\n" for p in people)
    answer = await client.post(f"{testing.base_url}{API}/samples/batch", content=body,
                               headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"})
    tally = answer.json() if answer.status_code == 200 else {}
    if tally.get("accepted") != len(people) or tally.get("rejected_total"):
        raise RuntimeError(f"samples: {answer.status_code} {answer.text[:500]}")


async def fetchval(db_url: str, sql: str, *params):
    import asyncpg

    conn = await asyncpg.connect(db_url, timeout=10)
    try:
        return await conn.fetchval(sql, *params)
    finally:
        await conn.close()


async def wait_for(what: str, check, timeout: float) -> None:
    """Poll ``check()`` until it is true; a RuntimeError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"not reached within {timeout:.0f} s: {what}")
        await asyncio.sleep(0.1)


async def bus_settled(nats_url: str, db_urls: list[str]) -> bool:
    """No unsent outbox row in either database, every durable consumer delivered and acknowledged to its
    stream's end, and no stream moved while that was checked."""
    import nats

    async def unsent() -> int:
        return sum([await fetchval(url, "SELECT count(*) FROM outbox WHERE sent_at IS NULL") for url in db_urls])

    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()

        async def last() -> dict:
            return {info.config.name: info.state.last_seq for info in await js.streams_info()}

        if await unsent():
            return False
        before = await last()
        for stream in before:
            for info in await js.consumers_info(stream):
                if info.config.durable_name and (info.num_pending or info.num_ack_pending
                                                 or info.ack_floor.stream_seq != info.delivered.stream_seq):
                    return False
        return not await unsent() and await last() == before
    finally:
        await nc.close()


# --- the timed part: results and the read model ----------------------------------------------------


class RedWatch:
    """Every ``poll`` seconds, one query over the registry's health-code read model for the people whose
    result is in flight; a person seen red is done, the latency measured from their result's request."""

    def __init__(self, db_url: str, poll: float) -> None:
        self.db_url, self.poll = db_url, poll
        self.sent: dict[str, float] = {}  # person id -> perf_counter() when the result request was sent
        self.latency: dict[str, float] = {}
        self.polls = 0
        self._task: asyncio.Task | None = None
        self._conn = None

    async def __aenter__(self) -> RedWatch:
        import asyncpg

        self._conn = await asyncpg.connect(self.db_url, timeout=10)
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    async def __aexit__(self, *exc) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self._conn.close()

    async def _run(self) -> None:
        statement = await self._conn.prepare("SELECT person_id::text FROM health_code WHERE person_id = ANY($1::uuid[]) AND color = 'red'")
        while True:
            waiting = [pid for pid in self.sent if pid not in self.latency]
            if waiting:
                rows = await statement.fetch(waiting)
                seen = time.perf_counter()
                self.polls += 1
                for (pid,) in rows:
                    self.latency[pid] = seen - self.sent[pid]
            await asyncio.sleep(self.poll)

    def in_flight(self) -> int:
        return len(self.sent) - len(self.latency)


@dataclass
class Phase:
    name: str
    offsets: list[float] = field(default_factory=list)  # when each result was sent, seconds after the first
    latencies: list[float] = field(default_factory=list)  # seconds, of the results seen red
    answer_s: list[float] = field(default_factory=list)  # seconds until testing answered each result request
    answered: dict[int, int] = field(default_factory=dict)  # status -> count of the result requests
    missing: int = 0  # results never seen red within the timeout
    load_at_start: float = 0.0


class Lab:
    """Positive results for one person after another, each as its own task, watched by a RedWatch."""

    def __init__(self, client, testing: ServiceProcess, token: str, watch: RedWatch, phase: Phase) -> None:
        self.client, self.testing, self.watch, self.phase = client, testing, watch, phase
        self.headers = {"Authorization": f"Bearer {token}"}
        self.tasks: list[asyncio.Task] = []
        self.t0: float | None = None

    def send(self, person: Person) -> None:
        self.tasks.append(asyncio.get_running_loop().create_task(self._one(person)))

    async def _one(self, person: Person) -> None:
        body = {"barcode": person.barcode, "result": "positive", "tested_at": datetime.now(UTC).isoformat(), "lab": "bench-lab"}
        sent = time.perf_counter()
        if self.t0 is None:
            self.t0 = sent
        self.phase.offsets.append(sent - self.t0)
        self.watch.sent[person.id] = sent  # before the request: the code may turn before its answer is read
        answer = await self.client.post(f"{self.testing.base_url}{API}/results", json=body, headers=self.headers)
        self.phase.answer_s.append(time.perf_counter() - sent)
        self.phase.answered[answer.status_code] = self.phase.answered.get(answer.status_code, 0) + 1

    async def finish(self, timeout: float) -> None:
        """Every request answered and every person red, or ``timeout`` seconds after the last was sent."""
        await asyncio.gather(*self.tasks)
        deadline = time.monotonic() + timeout
        while self.watch.in_flight() and time.monotonic() < deadline:
            await asyncio.sleep(self.watch.poll)
        self.phase.latencies = [self.watch.latency[pid] for pid in self.watch.sent if pid in self.watch.latency]
        self.phase.missing = self.watch.in_flight()


@dataclass
class Push:
    records: int
    seconds: float = 0.0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    stored: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


async def push(client, registry: ServiceProcess, pieces: list[list[bytes]], token: str, state: Push) -> None:
    """The partner's push, one request of NDJSON after another; sets ``state.done`` at the end, whatever happened."""
    url = f"{registry.base_url}{API}/travel-records/batch"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}

    async def body(chunks: list[bytes]):
        for chunk in chunks:
            yield chunk

    try:
        t0 = time.perf_counter()
        for chunks in pieces:
            answer = await client.post(url, content=body(chunks), headers=headers, timeout=900)
            if answer.status_code != 200:
                raise RuntimeError(f"push answered {answer.status_code}: {answer.text[:500]}")
            tally = answer.json()
            state.accepted += tally["accepted"]
            state.duplicates += tally["duplicates"]
            state.rejected += tally["rejected_total"]
        state.seconds = time.perf_counter() - t0
    finally:
        state.done.set()


async def loaded_phase(client, registry, testing, lab_token, partner_token, people, pieces, state: Push, args, db_url) -> Phase:
    """The push, and results paced to spread ``args.results`` over it; only results sent while it runs."""
    phase = Phase("loaded", load_at_start=os.getloadavg()[0])
    async with RedWatch(db_url, args.poll) as watch:
        lab = Lab(client, testing, lab_token, watch, phase)
        pushing = asyncio.get_running_loop().create_task(push(client, registry, pieces, partner_token, state))
        started = time.perf_counter()
        queue = iter(people)
        for sent, person in enumerate(queue, start=1):
            if state.done.is_set():
                break
            lab.send(person)
            if sent == args.results:
                break
            elapsed = time.perf_counter() - started
            answered = state.accepted + state.duplicates + state.rejected
            if answered:  # the rest of the push at its pace so far (requests answered), shared by the results left
                remaining = (state.records - answered) / (answered / elapsed)
                interval = remaining / (args.results - sent + 1)
            else:
                interval = args.first_interval
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(state.done.wait(), min(max(interval, 0.001), 5.0))
        await pushing
        await lab.finish(args.timeout)
    return phase


async def quiet_phase(client, testing, lab_token, people, offsets: list[float], args, db_url) -> Phase:
    """The loaded phase's schedule replayed, with nothing else running."""
    phase = Phase("quiet", load_at_start=os.getloadavg()[0])
    async with RedWatch(db_url, args.poll) as watch:
        lab = Lab(client, testing, lab_token, watch, phase)
        started = time.perf_counter()
        for person, offset in zip(people, offsets, strict=False):
            await asyncio.sleep(max(0.0, started + offset - time.perf_counter()))
            lab.send(person)
        await lab.finish(args.timeout)
    return phase


# --- the whole run -------------------------------------------------------------------------------


async def check_red(client, registry: ServiceProcess, token: str, people: list[Person]) -> int:
    """How many of ``people`` read red through GET /persons/{id}/health-code."""
    headers = {"Authorization": f"Bearer {token}"}
    red = 0
    for person in people:
        answer = await client.get(f"{registry.base_url}{API}/persons/{person.id}/health-code", headers=headers)
        red += answer.status_code == 200 and answer.json()["color"] == "red"
    return red


async def run(args, tmp: Path, env: dict) -> dict:
    import httpx

    from bench.travel_ingest import make_records
    from cordon.natsserver import NatsServer

    home = tmp / "home"
    registry_db, testing_db = TempDatabase(args.postgres_url), TempDatabase(args.postgres_url)
    machine = machine_info(await registry_db.server_version())
    machine["code"] = code_revision(("cordon", "services/registry", "services/testing"))  # both services measured
    now = datetime.now(UTC)
    progress(f"generating {args.records:,} travel records")
    pieces = make_records(args.records, args.batch, run_vault(), now, prefix="posred").pieces
    official = signed_token(home, "bench-official", "official", ["320000"], username="bench-official")
    lab_token = signed_token(home, "bench-lab", "lab", ["320000"], username="bench-lab")
    partner = signed_token(home, PARTNER, "partner")
    nats = NatsServer(store_dir=tmp / "nats")
    try:
        nats.start()
        await nats.wait_jetstream()
        async with (service_on_postgres("registry", registry_db, tmp, env, nats=nats) as registry,
                    service_on_postgres("testing", testing_db, tmp, env, nats=nats) as testing,
                    httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=200, max_keepalive_connections=50)) as client):
            dbs = [registry_db.url(), testing_db.url()]
            progress(f"registry (pid {registry.pid}) and testing (pid {testing.pid}) ready; registering {args.people:,} people")
            people = await register_people(client, registry, official, args.people)
            await wait_for("testing's person projection holds every person",
                           lambda: _equals(testing_db.url(), "SELECT count(*) FROM person_ref", args.people), 120)
            await take_samples(client, testing, lab_token, people, now)
            await wait_for("the bus settled after the samples", lambda: bus_settled(nats.url, dbs), 120)
            green = await fetchval(registry_db.url(), "SELECT count(*) FROM health_code WHERE color = 'green'")
            if green != args.people:
                raise RuntimeError(f"{green} of {args.people} people green before the first result")
            for url in dbs:
                await settle(url)

            half = args.people // 2
            state = Push(records=args.records)
            progress(f"loaded: pushing {args.records:,} records in requests of {args.batch:,}, up to {args.results} results spread over it")
            loaded = await loaded_phase(client, registry, testing, lab_token, partner, people[:half], pieces, state, args, registry_db.url())
            state.stored = await fetchval(registry_db.url(), "SELECT count(*) FROM travel_record WHERE partner_id = $1", PARTNER)
            progress(f"loaded: push {state.rate:,.0f} records/s; {len(loaded.offsets)} results sent, "
                     f"p99 {_pct(loaded.latencies, 0.99) * 1000:.0f} ms")

            await wait_for("the bus settled after the push", lambda: bus_settled(nats.url, dbs), 300)
            for url in dbs:
                await settle(url)
            progress(f"quiet: {len(loaded.offsets)} results on the loaded phase's schedule, no push")
            quiet = await quiet_phase(client, testing, lab_token, people[half:], loaded.offsets, args, registry_db.url())
            progress(f"quiet: p99 {_pct(quiet.latencies, 0.99) * 1000:.0f} ms")

            given = people[: len(loaded.offsets)] + people[half : half + len(quiet.offsets)]
            red = await check_red(client, registry, official, given)
    finally:
        nats.stop()
    return {"people": args.people, "records": args.records, "batch": args.batch, "poll_s": args.poll, "machine": machine,
            "push": {k: getattr(state, k) for k in ("records", "seconds", "accepted", "duplicates", "rejected", "stored")}
            | {"records_per_s": state.rate},
            "loaded": asdict(loaded), "quiet": asdict(quiet), "given": len(given), "red": red}


async def _equals(db_url: str, sql: str, expected: int) -> bool:
    return await fetchval(db_url, sql) == expected


def _pct(values: list[float], q: float) -> float:
    """The q-quantile by nearest rank (the smallest value with a share q of the values at or below it); NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def figures(phase: dict, key: str = "latencies") -> dict:
    values = phase[key]
    return {"n": len(values), **{f"p{round(q * 100)}_ms": _pct(values, q) * 1000 for q in (0.5, 0.95, 0.99)},
            "max_ms": max(values) * 1000 if values else float("nan")}


def correct(out: dict) -> bool:
    push = out["push"]
    phases = (out["loaded"], out["quiet"])
    return (out["red"] == out["given"] > 0
            and all(p["missing"] == 0 and p["answered"] == {201: len(p["offsets"])} for p in phases)
            and len(out["quiet"]["offsets"]) == len(out["loaded"]["offsets"])
            and push["accepted"] == push["stored"] == push["records"] and push["rejected"] == 0)


def report(out: dict) -> str:
    loaded, quiet, push = figures(out["loaded"]), figures(out["quiet"]), out["push"]
    ratio = quiet["p99_ms"] / loaded["p99_ms"] if loaded["n"] and quiet["n"] else float("nan")

    def row(name: str, f: dict, note: str = "") -> str:
        return f"{name:<32} {f['n']:>7} {f['p50_ms']:>8.0f} {f['p95_ms']:>8.0f} {f['p99_ms']:>8.0f} {f['max_ms']:>8.0f}{note}"

    lines = [
        f"Cordon positive result -> red code: registry and testing on PostgreSQL, one JetStream; {out['people']:,} people; "
        f"results polled red in the registry's read model every {out['poll_s'] * 1000:.0f} ms (the resolution)",
        machine_line(out["machine"]),
        "",
        f"{'latency, result sent -> red':<32} {'results':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}",
        row("loaded: during the push", loaded, f"   (load {out['loaded']['load_at_start']:.2f} when it began)"),
        row("quiet: same schedule, no push", quiet, f"   (load {out['quiet']['load_at_start']:.2f} when it began)"),
        "of which testing's answer to POST /results (the first hop; the rest is relay, JetStream and the registry):",
        row("  loaded", figures(out["loaded"], "answer_s")),
        row("  quiet", figures(out["quiet"], "answer_s")),
        "",
        f"push: {push['records']:,} records in requests of {out['batch']:,} in {push['seconds']:.1f} s = {push['records_per_s']:,.0f} records/s"
        f" (accepted {push['accepted']:,}, stored {push['stored']:,}, rejected {push['rejected']:,}); results sent over its first "
        f"{max(out['loaded']['offsets'] or [0]):.1f} s",
        f"ratio quiet p99 / loaded p99: {ratio:.2f}",
        f"aim p99 < 1 s while the push runs: {'met' if loaded['p99_ms'] < 1000 else 'NOT met'}",
        f"check: {out['red']} of {out['given']} people given a positive read red through GET /persons/{{id}}/health-code; "
        f"result answers loaded {out['loaded']['answered']}, quiet {out['quiet']['answered']}; "
        f"not red in time: loaded {out['loaded']['missing']}, quiet {out['quiet']['missing']}"
        + ("" if correct(out) else "  [WRONG: the figures do not stand]"),
    ]
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.positive_red", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--people", type=int, default=400, help="people registered; half for each phase (default 400)")
    parser.add_argument("--results", type=int, default=200, help="positive results spread over the push (default 200)")
    parser.add_argument("--records", type=int, default=200_000, help="travel records in the push (default 200,000)")
    parser.add_argument("--batch", type=int, default=20_000, help="records per push request (default 20,000)")
    parser.add_argument("--poll", type=float, default=0.01, help="seconds between polls of the read model (default 0.01)")
    parser.add_argument("--first-interval", type=float, default=0.1,
                        help="seconds between results until the push's first request is answered (default 0.1)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds a result may take to turn red (default 60)")
    parser.add_argument("--postgres-url", default=ADMIN_URL, help="admin database the temporary ones are created from")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--record", action="store_true", help="keep the run's row for the README table (bench/results.json)")
    args = parser.parse_args(argv)
    if args.records < 1 or args.batch < 1 or args.results < 1 or args.poll <= 0 or args.people < 2 * args.results:
        parser.error("--records, --batch, --results and --poll must be positive and --people at least 2 x --results")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    out = in_private_home(run, args)
    print(report(out))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, default=str) + "\n")
    ok = correct(out)
    if ok and args.record:
        loaded, quiet = figures(out["loaded"]), figures(out["quiet"])
        keep_row("bench/positive_red.py", machine=out["machine"],
                 what=f"a positive result → red code (testing → JetStream → registry, PostgreSQL), {loaded['n']} results "
                      f"during a {args.records:,}-record travel push; read model polled every {args.poll * 1000:.0f} ms",
                 cordon=f"p99 {loaded['p99_ms']:,.0f} ms (p50 {loaded['p50_ms']:,.0f}, max {loaded['max_ms']:,.0f}) under a push of "
                        f"{out['push']['records_per_s']:,.0f} records/s (aim p99 < 1 s)",
                 baseline=f"the same results with no push: p99 {quiet['p99_ms']:,.0f} ms (p50 {quiet['p50_ms']:,.0f})",
                 ratio=f"{quiet['p99_ms'] / loaded['p99_ms']:.2f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
