"""The README's benchmark table, written from the rows the scripts kept (``bench/results.json``).

    .venv/bin/python -m bench.table            # print the table
    .venv/bin/python -m bench.table --write    # replace the table in README.md between its markers

A script keeps its row when run with ``--record`` and every answer of the run was correct; the row
carries the run's date and the load average it started at, so a figure from a contended run says so.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import REPO, RESULTS  # noqa: E402

START, END = "<!-- bench-table: start (python -m bench.table --write) -->", "<!-- bench-table: end -->"


def table(rows: dict) -> str:
    lines = ["| benchmark | Cordon | baseline in the same run | ratio | run (load at start) |", "|---|---|---|---|---|"]
    for key, r in rows.items():
        lines.append(f"| `{key}`: {r['what']} | {r['cordon']} | {r['baseline']} | {r['ratio']} | {r['date']} ({r['load']:.1f}) |")
    machines = sorted({r["machine"] for r in rows.values()})
    lines += ["", *(f"Machine: {m.removeprefix('machine: ')}." for m in machines)]
    return "\n".join(lines)


def write(readme: Path, text: str) -> None:
    body = readme.read_text()
    if START not in body or END not in body:
        raise SystemExit(f"{readme}: the markers {START!r} and {END!r} are missing")
    head, rest = body.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{text}\n{END}{tail}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.table", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--write", action="store_true", help="replace the table in README.md")
    args = parser.parse_args(argv)
    rows = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    text = table(rows)
    if args.write:
        write(REPO / "README.md", text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
