"""NDJSON lines are read with a bounded buffer: a line over 1 MB is refused by its number, the rest read on.

A 64 MB line without a newline was buffered by re-joining every chunk (quadratic: 11 s at
64 MB). Now at most 1 MB of an unfinished line is held; the test holds the reader to its
memory, not to a time.
"""

from __future__ import annotations

import tracemalloc

from hypothesis import given, settings
from hypothesis import strategies as st

from cordon.batches import MAX_LINE_BYTES, OverlongLine, ndjson_lines

CHUNK = 64 * 1024


async def stream(*parts: bytes, size: int = CHUNK):
    for part in parts:
        for start in range(0, len(part), size):
            yield part[start:start + size]


async def long_line(total: int):
    """``total`` bytes of one line, made as it streams (the test itself holds no 64 MB)."""
    piece = b"x" * CHUNK
    for _ in range(total // CHUNK):
        yield piece


async def test_a_64_mb_line_is_refused_by_number_in_bounded_memory():
    async def body():
        yield b'{"a": 1}\n'
        async for chunk in long_line(64 * 1024 * 1024):
            yield chunk
        yield b'\n{"b": 2}\n\n{"c": 3}'

    tracemalloc.start()
    try:
        got = [item async for item in ndjson_lines(body())]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got[0] == (1, b'{"a": 1}')
    assert got[1] == (2, OverlongLine(64 * 1024 * 1024))
    assert got[2:] == [(3, b'{"b": 2}'), (5, b'{"c": 3}')]
    print(f"peak memory reading a 64 MB line: {peak / 1e6:.1f} MB")
    assert peak < 4 * MAX_LINE_BYTES  # the buffer's cap and a few chunks, not the line


async def test_a_line_of_exactly_the_limit_is_read_and_one_byte_more_is_not():
    exact, over = b"y" * MAX_LINE_BYTES, b"z" * (MAX_LINE_BYTES + 1)
    got = [item async for item in ndjson_lines(stream(exact + b"\n" + over + b"\n" + over))]
    assert got == [(1, exact), (2, OverlongLine(MAX_LINE_BYTES + 1)), (3, OverlongLine(MAX_LINE_BYTES + 1))]


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=30), st.integers(1, 50))
async def test_any_chunking_gives_the_lines_of_split(lines, size):
    body = b"\n".join(lines)
    expected = [(n, line) for n, line in enumerate(lines, start=1) if line.strip() and len(line) <= 30]
    expected += [(n, OverlongLine(len(line))) for n, line in enumerate(lines, start=1) if len(line) > 30]
    got = [item async for item in ndjson_lines(stream(body, size=size), max_line=30)]
    assert sorted(got, key=lambda item: item[0]) == sorted(expected, key=lambda item: item[0])
