"""The one loop of periodic work: again at once while there is more, a rest otherwise, a failure retried."""

from __future__ import annotations

import asyncio

import pytest

from cordon import clockwork


async def _run_until(rounds: list, count: int, task: asyncio.Task) -> None:
    async with asyncio.timeout(10):
        while len(rounds) < count:
            await asyncio.sleep(0.001)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_more_work_runs_again_at_once_and_none_waits_the_pause():
    rounds, answers = [], iter([True, True, False])
    loop = asyncio.get_running_loop()

    async def round_():
        rounds.append(loop.time())
        return next(answers, False)

    task = asyncio.create_task(clockwork.every("test", round_, pause=0.2))
    await _run_until(rounds, 4, task)
    gaps = [b - a for a, b in zip(rounds, rounds[1:], strict=False)]
    assert gaps[0] < 0.1 and gaps[1] < 0.1  # more was waiting
    assert gaps[2] >= 0.19  # nothing waiting: the pause


async def test_a_failing_round_is_logged_and_retried_after_retry_s(caplog):
    rounds = []

    async def round_():
        rounds.append(1)
        if len(rounds) == 1:
            raise RuntimeError("database away")

    pauses = []
    task = asyncio.create_task(clockwork.every("flaky", round_, pause=lambda: pauses.append(1) or 0.0, retry_s=0.0))
    await _run_until(rounds, 3, task)
    failed = [r for r in caplog.records if r.getMessage() == "periodic round failed; trying again"]
    assert failed and failed[0].task == "flaky"  # a field of the JSON line, not text inside the message
    assert len(pauses) >= 1  # after a success the pause function is asked
