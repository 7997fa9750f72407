"""The one batch reader and ingest loop: line numbers, codes for bad lines, chunks recorded in order."""

import asyncio

import pytest

from cordon import batches
from cordon.batches import ndjson_lines
from services.testing.schemas import ResultCreate, SampleCreate


async def chunks(*parts):
    for part in parts:
        yield part


async def test_ndjson_lines_across_chunk_borders_keep_numbers_and_skip_blanks():
    got = [x async for x in ndjson_lines(chunks(b'{"a":1}\n{"b"', b':2}\n\n{"c":3}'))]
    assert got == [(1, b'{"a":1}'), (2, b'{"b":2}'), (4, b'{"c":3}')]


@pytest.mark.parametrize(
    "raw, code",
    [(b"{not json", "invalid_json"), (b"[1]", "invalid_record"), (b'{"barcode": "B"}', "validation_error")],
)
def test_bad_lines_get_codes(raw, code):
    with pytest.raises(batches.LineError) as caught:
        batches.validated(raw, SampleCreate)
    assert caught.value.code == code


def test_result_needs_one_target_and_a_reason_for_a_correction():
    base = {"result": "negative", "tested_at": "2022-03-01T10:00:00+08:00", "lab": "L"}
    with pytest.raises(batches.LineError):
        batches.validated({**base}, ResultCreate)
    with pytest.raises(batches.LineError):
        batches.validated({**base, "tube_id": "T", "barcode": "B"}, ResultCreate)
    with pytest.raises(batches.LineError):
        batches.validated({**base, "tube_id": "T", "correction": True}, ResultCreate)
    assert batches.validated({**base, "barcode": "B"}, ResultCreate).target == ("barcode", "B")


async def test_ingest_keeps_good_lines_around_bad_ones_in_chunks():
    seen = []

    async def record(chunk):
        seen.append([n for n, _ in chunk])
        return batches.Tally(accepted=len(chunk))

    lines = chunks(*[b'{"barcode":"B%d","id_number":"x","collected_at":"2022-03-01T10:00:00+08:00","site":"s"}\n' % i if i % 3 else b"oops\n" for i in range(1, 8)])
    tally = await batches.ingest(ndjson_lines(lines), parse=lambda raw: batches.validated(raw, SampleCreate), record=record, chunk=2)
    assert tally.accepted == 5 and [r["line"] for r in tally.rejected] == [3, 6]
    assert seen == [[1, 2], [4, 5], [7]]


async def test_one_chunk_is_recorded_while_the_next_is_parsed_never_two_at_once():
    in_flight, most, order = 0, 0, []

    async def record(chunk):
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.01)
        order.append(chunk[0][0])
        in_flight -= 1
        return batches.Tally(accepted=len(chunk), duplicates=1)

    async def numbered():
        for number in range(1, 11):
            yield number, b"{}"

    tally = await batches.ingest(numbered(), parse=batches.json_object, record=record, chunk=3)
    assert most == 1 and order == [1, 4, 7, 10]
    assert (tally.accepted, tally.duplicates) == (10, 4)


async def test_a_failing_chunk_stops_the_batch_with_its_error():
    async def record(chunk):
        raise RuntimeError("database gone")

    async def numbered():
        for number in range(1, 6):
            yield number, b"{}"

    with pytest.raises(RuntimeError, match="database gone"):
        await batches.ingest(numbered(), parse=batches.json_object, record=record, chunk=2)
