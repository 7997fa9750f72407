import pytest

from services.testing.schemas import ResultCreate, SampleCreate
from cordon.batches import ndjson_lines
from services.testing.service import batches


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
        batches.parse(raw, SampleCreate)
    assert caught.value.code == code


def test_result_needs_one_target_and_a_reason_for_a_correction():
    base = {"result": "negative", "tested_at": "2022-03-01T10:00:00+08:00", "lab": "L"}
    with pytest.raises(batches.LineError):
        batches.parse({**base}, ResultCreate)
    with pytest.raises(batches.LineError):
        batches.parse({**base, "tube_id": "T", "barcode": "B"}, ResultCreate)
    with pytest.raises(batches.LineError):
        batches.parse({**base, "tube_id": "T", "correction": True}, ResultCreate)
    assert batches.parse({**base, "barcode": "B"}, ResultCreate).target == ("barcode", "B")


async def test_ingest_keeps_good_lines_around_bad_ones_in_chunks():
    seen = []

    async def record(chunk):
        seen.append([n for n, _ in chunk])
        return batches.Tally(accepted=len(chunk))

    lines = chunks(*[b'{"barcode":"B%d","id_number":"x","collected_at":"2022-03-01T10:00:00+08:00","site":"s"}\n' % i if i % 3 else b"oops\n" for i in range(1, 8)])
    tally = await batches.ingest(ndjson_lines(lines), SampleCreate, record, chunk=2)
    assert tally.accepted == 5 and [r["line"] for r in tally.rejected] == [3, 6]
    assert seen == [[1, 2], [4, 5], [7]]
