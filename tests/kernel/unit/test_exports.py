"""The XLSX ledger: a sheet holds at most 1,048,576 rows, so a longer export goes on in further sheets,
each headed the same, and no row is lost or repeated."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from cordon import exports

COLUMNS = [exports.Column("name", "姓名", "Name"), exports.Column("region", "所在地", "Place")]


async def _workbook(rows: list[tuple], lang: str = "zh") -> tuple[object, list[int]]:
    async def source():
        for row in rows:
            yield row

    counter = [0]
    body = b"".join([chunk async for chunk in exports.xlsx_chunks(COLUMNS, source(), lang, counter, "人员台账")])
    return load_workbook(io.BytesIO(body), read_only=True), counter


@pytest.mark.parametrize("count", [0, 1, 3, 4, 7])
async def test_rows_past_a_sheets_limit_go_on_in_the_next_sheet_under_the_same_header(monkeypatch, count):
    monkeypatch.setattr(exports, "SHEET_ROWS", 4)  # a header and three rows a sheet
    monkeypatch.setattr(exports, "XLSX_BATCH_ROWS", 2)
    rows = [(f"张{i}", "320413") for i in range(count)]
    book, counter = await _workbook(rows)
    expected_sheets = max(1, -(-count // 3))
    assert book.sheetnames == ["人员台账"] + [f"人员台账 ({n})" for n in range(2, expected_sheets + 1)]
    read = []
    for sheet in book.worksheets:
        values = list(sheet.iter_rows(values_only=True))
        assert values[0] == ("姓名", "所在地")
        assert len(values) <= 4
        read.extend(values[1:])
    assert read == rows
    assert counter == [count]


async def test_a_long_title_keeps_its_number_within_excels_31_characters(monkeypatch):
    monkeypatch.setattr(exports, "SHEET_ROWS", 2)
    title = "某某县某某镇某某村人员健康状况及管控措施明细台账（二〇二二年版）"
    counter = [0]

    async def source():
        for row in [("甲", "1"), ("乙", "2")]:
            yield row

    body = b"".join([c async for c in exports.xlsx_chunks(COLUMNS, source(), "en", counter, title)])
    book = load_workbook(io.BytesIO(body), read_only=True)
    assert [len(n) <= 31 for n in book.sheetnames] == [True, True]
    assert book.sheetnames[1].endswith(" (2)")
    assert next(book.worksheets[1].iter_rows(values_only=True)) == ("Name", "Place")
