"""The one batch reader and ingest loop: line numbers, codes for bad lines, chunks recorded in order."""

import asyncio

import pytest

from cordon import batches, messages
from cordon.batches import ndjson_lines
from cordon.errors import DomainError
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


def _workbook(rows: list[list], *, write_only: bool):
    """An XLSX file (unnamed, temporary): write-only books carry inline strings, the others a shared-string table."""
    import tempfile

    from openpyxl import Workbook

    book = Workbook(write_only=write_only)
    sheet = book.create_sheet() if write_only else book.active
    for row in rows:
        sheet.append(row)
    spool = tempfile.TemporaryFile()  # noqa: SIM115 (closed by the caller)
    book.save(spool)
    spool.seek(0)
    return spool


@pytest.mark.parametrize("write_only", [True, False])
def test_an_xlsx_list_reads_in_the_same_memory_however_long(write_only):
    """openpyxl's own read-only reader keeps every row it has read (cleared, ~80 bytes each) and the whole
    shared-string table as a list: 30,000 rows of distinct numbers would hold some 2.5 MB more at the end.
    Opening a sheet without a <dimension> (write-only books) it parsed the whole sheet first, holding as
    much again before the first row: the peak (about 0.5 MB here) was 3 MB."""
    import tracemalloc

    rows = [["姓名", "身份证号", "手机号", "所在地", "原因"]] + [
        [f"张{i}", f"3204131980{i:08d}", f"139{i:08d}", "320413100201", "协查"] for i in range(30_000)]
    with _workbook(rows, write_only=write_only) as spool:
        tracemalloc.start()
        try:
            seen = []
            for number, row in batches._rows(spool, "xlsx"):
                if number in (2, 30_001):
                    seen.append((number, row))
                if number == 1_000:
                    early = tracemalloc.get_traced_memory()[0]
                if number == 30_000:  # still reading: what the reader holds
                    late = tracemalloc.get_traced_memory()[0]
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert seen == [(2, rows[1]), (30_001, ["张29999", "320413198000029999", "13900029999", "320413100201", "协查"])]
    assert late - early < 512 * 1024, f"{(late - early) // 1024} KiB more after 29,000 rows"
    assert peak < 1536 * 1024, f"{peak // 1024} KiB at the most while reading"


def test_a_workbook_damaged_past_its_first_rows_yields_them_then_is_refused_naming_the_last():
    """The sheet is read as it is imported, not parsed whole first: the rows before the damage come, then
    422 xlsx_invalid with the last row read."""
    import io
    import zipfile

    rows = [["姓名", "手机号"]] + [[f"张{i}", f"139{i:08d}"] for i in range(3_000)]
    with _workbook(rows, write_only=True) as whole:
        source = zipfile.ZipFile(whole)
        damaged = io.BytesIO()
        with zipfile.ZipFile(damaged, "w", zipfile.ZIP_DEFLATED) as out:
            for item in source.infolist():
                data = source.read(item)
                if item.filename == "xl/worksheets/sheet1.xml":
                    data = data[:data.index(b'<row r="2001"')] + b'<row r="2001"><c r="A2001" t="inlineStr"><is><t>'
                out.writestr(item, data)
    damaged.seek(0)
    got = []
    with pytest.raises(DomainError) as refused:
        for number, _row in batches._rows(damaged, "xlsx"):
            got.append(number)
    assert got == list(range(1, 2001))
    assert refused.value.code == "xlsx_invalid" and refused.value.status == 422
    assert "after row 2000" in refused.value.detail
    assert messages.detail("xlsx_invalid", refused.value.detail, "zh").startswith("工作簿第 2000 行之后的内容无法读取")


def test_a_shared_string_table_is_read_from_disk_by_index():
    strings = batches.SpilledStrings().fill(_io_table(["张三", "", "x" * 5000, "协查"]))
    try:
        assert len(strings) == 4
        assert [strings[i] for i in (3, 0, 1, 2, 0)] == ["协查", "张三", "", "x" * 5000, "张三"]
        with pytest.raises(IndexError):
            strings[4]
    finally:
        strings.close()


def _io_table(texts: list[str]):
    import io
    from xml.sax.saxutils import escape

    items = "".join(f"<si><t>{escape(t)}</t></si>" for t in texts)
    return io.BytesIO(('<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                       f'count="{len(texts)}">{items}</sst>').encode())


async def test_a_list_over_the_bound_is_refused_413_and_one_under_it_spooled():
    """Through a real app (the routes' own error handling): a body past ``max_bytes`` is 413 payload_too_large as
    problem+json; one under it is spooled and read (the bound of /leads/import is 512 MB: too large for a test)."""
    import httpx
    from fastapi import FastAPI, Request

    from cordon import errors

    app = FastAPI()
    errors.install(app)

    @app.post("/import")
    async def take(request: Request):
        lines = await batches.table_lines(request, aliases={"手机号": "phone"}, required=[("phone",)], max_bytes=64 * 1024)
        return {"rows": [row async for _, row in lines]}

    xlsx = {"content-type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    with _workbook([["手机号"], ["13900000001"], [13900000002]], write_only=True) as spool:
        small = spool.read()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://cordon") as client:
        taken = await client.post("/import", content=small, headers=xlsx)
        assert taken.status_code == 200 and taken.json() == {"rows": [{"phone": "13900000001"}, {"phone": "13900000002"}]}
        refused = await client.post("/import", content=small + b"\0" * (64 * 1024), headers=xlsx)
        assert refused.status_code == 413 and refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["code"] == "payload_too_large"
