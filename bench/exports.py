"""Ledger exports at a county's size: `GET /persons/export` as CSV and XLSX against raw COPY TO STDOUT.

    .venv/bin/python -m bench.exports [--people N] [--formats csv,xlsx] [--json PATH] [--record]

One run, everything started here and stopped here (a temporary PostgreSQL database migrated with
``cordon.migrate.upgrade("registry", ...)`` and dropped at the end, a private nats-server and CORDON_HOME,
the registry as its own process, ``python -m cordon serve registry``):

* N people (default 1,000,000) loaded by COPY into one county (untimed), as register_person stores them;
* Cordon: the county's official downloads ``GET /api/v1/persons/export?region_code=320413&format=F``, the
  body read as it streams and counted (CSV lines, or the XLSX sheet's rows once it is complete). Rows/s
  from the request sent to the last byte; the service's RSS before and at its peak (sampled VmRSS and
  the kernel's VmHWM): constant memory means the peak does not grow with N;
* baseline: ``COPY (SELECT <the same columns> FROM person JOIN region ...) TO STDOUT (FORMAT csv)`` through
  asyncpg into a sink, the database's own fastest way out. Rows/s, and the ratio;
* with ``--spreadsheet``, the downloaded workbook is opened in a spreadsheet program (LibreOffice Calc,
  headless: ``soffice --convert-to csv``, Debian's ``libreoffice-calc-nogui``), and every row it read is
  counted and its header compared with the export's: the office's 台账 must open where it is used.

The exit status is 1 when an export did not hold every person.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402  (after the path fix)
    ADMIN_URL,
    RssSampler,
    ServiceProcess,
    TempDatabase,
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

COUNTY = "320413"
BASELINE_SQL = (
    "SELECT p.name, p.id_number_masked, p.phone_masked, p.region_code, r.name, p.address, p.health_color,"
    " p.health_reasons, p.tags, p.entry_date, p.created_at FROM person p LEFT JOIN region r ON r.code = p.region_code"
    " WHERE p.region_code >= '{low}' AND p.region_code <= '{high}' ORDER BY p.id"
)


@dataclass
class Opened:
    program: str
    rows: int
    header: list[str]
    seconds: float


def open_in_spreadsheet(workbook: Path) -> Opened:
    """Open the workbook in LibreOffice Calc (headless) and read back every row it holds, as CSV."""
    import csv
    import shutil
    import subprocess

    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        raise RuntimeError("--spreadsheet needs LibreOffice Calc: apt-get install libreoffice-calc-nogui")
    version = subprocess.run([soffice, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    out_dir = workbook.parent / "opened"
    out_dir.mkdir()
    t0 = time.perf_counter()
    # 76 = the CSV filter's field separator ",", 34 = the text delimiter '"', 76 = UTF-8.
    subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{workbook.parent / 'profile'}",
                    "--convert-to", 'csv:Text - txt - csv (StarCalc):44,34,76', "--outdir", str(out_dir), str(workbook)],
                   capture_output=True, check=True, timeout=3600)
    seconds = time.perf_counter() - t0
    (converted,) = out_dir.glob("*.csv")
    with converted.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = sum(1 for _ in reader)
    return Opened(" ".join(version.split()[:2]), rows, header, seconds)


@dataclass
class Export:
    fmt: str
    rows: int
    bytes: int
    seconds: float
    rss_start_mb: float
    rss_peak_mb: float

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


async def download(service: ServiceProcess, token: str, fmt: str, keep: Path | None = None) -> Export:
    import httpx

    url = f"{service.base_url}/api/v1/persons/export"
    size, lines, body = 0, 0, io.BytesIO()
    if fmt == "xlsx" and keep is not None:
        body = keep.open("w+b")
    async with httpx.AsyncClient(timeout=httpx.Timeout(1800.0)) as client:
        with RssSampler(service.pid) as rss:
            t0 = time.perf_counter()
            async with client.stream("GET", url, params={"region_code": COUNTY, "format": fmt},
                                     headers={"Authorization": f"Bearer {token}"}) as response:
                if response.status_code != 200:
                    raise RuntimeError(f"export answered {response.status_code}: {(await response.aread())[:300]!r}")
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if fmt == "csv":
                        lines += chunk.count(b"\n")
                    else:
                        body.write(chunk)
            seconds = time.perf_counter() - t0
    if fmt == "csv":
        rows = lines - 1  # the header (no name or address here holds a line break)
    else:
        from openpyxl import load_workbook

        body.seek(0)
        rows = sum(1 for _ in load_workbook(body, read_only=True).active.iter_rows(values_only=True)) - 1
        body.close()
    return Export(fmt, rows, size, seconds, rss.start_kb / 1024, max(rss.peak_kb, rss.hwm_kb) / 1024)


async def copy_out(db_url: str) -> tuple[float, int]:
    import asyncpg

    from cordon import regions

    conn = await asyncpg.connect(db_url, timeout=10)
    size = 0

    async def sink(chunk: bytes) -> None:
        nonlocal size
        size += len(chunk)

    try:
        low = regions.scope_prefix(COUNTY)  # the range regions.within() asks for
        high = low + "9" * (regions.MAX_LENGTH - len(low))
        t0 = time.perf_counter()
        await conn.copy_from_query(BASELINE_SQL.format(low=low, high=high), output=sink, format="csv", header=True)
        return time.perf_counter() - t0, size
    finally:
        await conn.close()


async def run(args, tmp: Path, env: dict) -> dict:
    from bench.health_code import load_people, make_people

    database = TempDatabase(args.postgres_url)
    machine = machine_info(await database.server_version())
    progress(f"generating {args.people:,} people")
    people = [row[:8] + (COUNTY,) + row[9:] for row in make_people(args.people, run_vault(), datetime.now(UTC))]
    exports: list[Export] = []
    opened: Opened | None = None
    async with service_on_postgres("registry", database, tmp, env, load=lambda url: load_people(url, people)) as service:
        people.clear()
        token = signed_token(tmp / "home", "bench-official", "official", [COUNTY], username="bench-official")
        for fmt in args.formats:
            await settle(database.url())
            progress(f"exporting {args.people:,} people as {fmt}")
            keep = tmp / "persons.xlsx" if fmt == "xlsx" and args.spreadsheet else None
            exports.append(await download(service, token, fmt, keep))
            progress(f"{fmt}: {exports[-1].rate:,.0f} rows/s")
            if keep is not None:
                progress("opening the workbook in a spreadsheet program")
                opened = open_in_spreadsheet(keep)
                keep.unlink()
                progress(f"{opened.program} read {opened.rows:,} rows in {opened.seconds:.0f} s")
        service.stop()
        await settle(database.url())
        progress("baseline COPY TO STDOUT")
        copy_s, copy_bytes = await copy_out(database.url())
    return {"people": args.people, "machine": machine, "exports": exports, "copy_seconds": copy_s, "copy_bytes": copy_bytes,
            "opened": opened}


def report(out: dict) -> str:
    copy_rate = out["people"] / out["copy_seconds"]
    lines = [
        f"Cordon ledger export benchmark: {out['people']:,} people of one county, GET /persons/export",
        machine_line(out["machine"]),
        "",
        f"{'run':<48} {'rows/s':>10} {'seconds':>8} {'MB':>7} {'RSS ready → peak':>18}",
    ]
    for e in out["exports"]:
        lines.append(f"{'registry: ' + e.fmt.upper() + ' export, streamed':<48} {e.rate:>10,.0f} {e.seconds:>8.1f} "
                     f"{e.bytes / 1e6:>7.1f} {e.rss_start_mb:>8.0f} → {e.rss_peak_mb:.0f} MB"
                     + ("" if e.rows == out["people"] else f"  [WRONG: {e.rows:,} rows]"))
    lines.append(f"{'baseline: COPY (SELECT …) TO STDOUT (FORMAT csv)':<48} {copy_rate:>10,.0f} {out['copy_seconds']:>8.1f} "
                 f"{out['copy_bytes'] / 1e6:>7.1f}")
    lines += ["", *(f"ratio {e.fmt} / raw COPY: {e.rate / copy_rate:.3f}" for e in out["exports"])]
    if (o := out["opened"]) is not None:
        lines.append(f"opened in {o.program} in {o.seconds:.0f} s: {o.rows:,} rows under the header "
                     f"{','.join(o.header)}" + ("" if o.rows == out["people"] else "  [WRONG: rows missing]"))
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.exports", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--people", type=int, default=1_000_000, help="people in the county (default 1,000,000)")
    parser.add_argument("--formats", default="csv,xlsx", help="comma-separated: csv, xlsx (default both)")
    parser.add_argument("--postgres-url", default=ADMIN_URL, help="admin database the temporary one is created from")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--record", action="store_true", help="keep the run's row for the README table (bench/results.json)")
    parser.add_argument("--spreadsheet", action="store_true",
                        help="open the XLSX in LibreOffice Calc (headless) and count the rows it read")
    args = parser.parse_args(argv)
    args.formats = [f for f in args.formats.split(",") if f]
    if args.people < 1 or not set(args.formats) <= {"csv", "xlsx"} or not args.formats:
        parser.error("--people must be positive and --formats among csv, xlsx")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    out = in_private_home(run, args)
    print(report(out))
    if args.json:
        Path(args.json).write_text(json.dumps({**out, "exports": [asdict(e) for e in out["exports"]],
                                               "opened": out["opened"] and asdict(out["opened"])}, indent=2, default=str) + "\n")
    ok = all(e.rows == out["people"] for e in out["exports"]) and (out["opened"] is None or out["opened"].rows == out["people"])
    if ok and args.record:
        copy_rate = out["people"] / out["copy_seconds"]
        keep_row("bench/exports.py", machine=out["machine"],
                 what=f"`GET /persons/export` of {out['people']:,} people of one county (PostgreSQL)",
                 cordon="; ".join(f"{e.fmt.upper()} {e.rate:,.0f} rows/s, service RSS {e.rss_start_mb:.0f} → {e.rss_peak_mb:.0f} MB"
                                  for e in out["exports"]),
                 baseline=f"`COPY (SELECT …) TO STDOUT` {copy_rate:,.0f} rows/s",
                 ratio="; ".join(f"{e.fmt} {e.rate / copy_rate:.2f}" for e in out["exports"]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
