"""Point reads coalesced: the lookups that arrive while the driver's connections are busy go to the
database together, as one statement over an array of keys (a DataLoader, on an asyncpg pool).

A hot read costs the database and the driver far more per round trip than per row: under a crowd of
concurrent requests, one ``... = ANY``-shaped statement for the 40 lookups that queued up serves them
for about the price of one. A lookup is never answered from a statement that started before it
arrived: a batch takes the waiting lookups only once it holds a connection, so each answer is read
after its request came in (what was committed before it is seen).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any


class Coalescer:
    """Runs ``sql`` over batches of keys. ``sql`` takes one array parameter per key field (``$1 .. $n``)
    and returns, for each key it finds, its 1-based position in the batch as the first column
    (``unnest(...) WITH ORDINALITY``); ``shape`` turns such a row into the answer. A key with no row
    answers None."""

    def __init__(self, pool, sql: str, *, fields: int, shape: Callable[[Any], Any], max_batch: int = 512) -> None:
        self.pool, self.sql, self.fields, self.shape, self.max_batch = pool, sql, fields, shape, max_batch
        self._pending: list[tuple[Sequence, asyncio.Future]] = []
        self._waiting = False  # one batch at a time waits for a connection; it takes what queued by then
        self._tasks: set[asyncio.Task] = set()  # the loop keeps only weak references to tasks: these are ours
        self.statements = 0  # batches sent (for metrics and tests)

    async def get(self, *key) -> Any:
        future = asyncio.get_running_loop().create_future()
        self._pending.append((key, future))
        self._kick()
        return await future

    def _kick(self) -> None:
        if self._pending and not self._waiting:
            self._waiting = True
            task = asyncio.get_running_loop().create_task(self._run())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self) -> None:
        try:
            connection = await self.pool.acquire()
        except BaseException as exc:
            self._waiting = False
            self._fail(self._take(), exc)
            self._kick()
            return
        try:
            self._waiting = False
            batch = self._take()
            self._kick()  # more waiting: the next batch waits for the next connection
            if not batch:
                return
            try:
                columns = [[key[i] for key, _ in batch] for i in range(self.fields)]
                self.statements += 1
                rows = await connection.fetch(self.sql, *columns)
            except BaseException as exc:
                self._fail(batch, exc)
                if not isinstance(exc, Exception):
                    raise
                return
            found = {row[0]: row for row in rows}
            for position, (_, future) in enumerate(batch, start=1):
                if future.done():
                    continue
                row = found.get(position)
                try:  # one row that cannot be shaped fails its own lookup, never leaves the others waiting
                    future.set_result(self.shape(row) if row is not None else None)
                except Exception as exc:
                    future.set_exception(exc)
        finally:
            await self.pool.release(connection)
            self._kick()

    def _take(self) -> list[tuple[Sequence, asyncio.Future]]:
        batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
        return batch

    @staticmethod
    def _fail(batch, exc: BaseException) -> None:
        for _, future in batch:
            if not future.done():
                future.set_exception(exc if isinstance(exc, Exception) else ConnectionError(str(exc)))
