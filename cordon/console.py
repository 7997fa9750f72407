"""What the `cordon` CLI shows an operator: Chinese first, then English; tables; progress bars (rich).

Every command also runs against the configured databases from a script: `--json` prints what a
list or status command found as JSON on stdout (nothing else), for cron jobs and tests.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from cordon import db
from cordon.bus.outbox import SOURCE
from cordon.clock import utcnow
from cordon.settings import database_url

T = TypeVar("T")

# A pipe or a file gets full lines, not a terminal's 80 columns.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class Refused(Exception):
    """A command that cannot do what was asked: printed as one line (Chinese, then English), exit 1."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} {en}")
        self.zh, self.en = zh, en


def say(zh: str, en: str) -> None:
    """One act done: the Chinese line, then the English one beneath it."""
    out.print(zh, markup=False)
    out.print(f"  {en}", markup=False, style="dim")


def table(columns: Iterable[str], rows: Iterable[Iterable[Any]], *, title: str | None = None) -> None:
    t = Table(*columns, title=title, title_justify="left")
    for row in rows:
        t.add_row(*["" if v is None else str(v) for v in row])
    out.print(t)


def as_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2, default=str).decode() + "\n")


def progress() -> Progress:
    """A progress bar on stderr, so `--json` output and pipes stay clean."""
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err, transient=False,
    )


@asynccontextmanager
async def session_of(service: str):
    """A session on ``service``'s configured database (CORDON_<SERVICE>_DATABASE_URL, else the dev SQLite file)."""
    engine = db.create_engine(database_url(service))  # no other secret needed to read a database
    maker = db.create_sessionmaker(engine)
    maker.kw["info"] = {SOURCE: f"cordon/{service}"}
    try:
        async with maker() as session:
            yield session
    finally:
        await engine.dispose()


def run(work: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(work())


async def with_session(service: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async with session_of(service) as session:
        return await work(session)


def now():
    return utcnow()
