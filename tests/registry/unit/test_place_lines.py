"""An import's lines as the domain reads them: CSV fields, codes and names, each bad line with its code."""

from __future__ import annotations

import csv

import pytest

from cordon.batches import LineError, OverlongLine
from services.registry.domain import places

COLUMNS = (0, 1)


@pytest.mark.parametrize("line", [
    "320413100201,东门村",
    "320413100201,东门村,extra,,",
    " 320413100201 , 东门村 ",
    '320413100202,"西门村, 居委会"',
    '320413100202,"说""西门""村"',
    '320413100202,西"门"村',  # a quote inside an unquoted field is kept as it is
    "320413100203,",
])
def test_fields_are_what_the_csv_module_reads(line):
    assert places.csv_fields(line) == next(csv.reader([line]))


def test_a_line_read_whole():
    assert places.from_csv("320413100201,东门村\r".encode(), COLUMNS) == ("320413100201", "东门村")
    assert places.from_csv(b"\xef\xbb\xbf320413100201,x", COLUMNS) == ("320413100201", "x")
    assert places.from_csv('东门村,320413100201'.encode(), (1, 0)) == ("320413100201", "东门村")


@pytest.mark.parametrize(("raw", "code"), [
    ("320413100201,东门村".encode("gbk"), "encoding_invalid"),
    (b"320413100201", "columns_missing"),
    ("3204131002,坏代码".encode(), "region_code_invalid"),
    (b"320413100201,", "name_invalid"),
    ("320413100201,东门\r村".encode(), "name_invalid"),  # a carriage return inside an unquoted field
    ('320413100201,"东门"\r村'.encode(), "invalid_record"),  # the csv module refuses it: named, not a failure
    ("320413100201,东门\x07村".encode(), "name_invalid"),
    ("320413100201,东门\u200b村".encode(), "name_invalid"),  # a format character (category Cf)
    (("320413100201," + "村" * 101).encode(), "name_too_long"),
    (OverlongLine(2 * 1024 * 1024), "line_too_long"),  # skipped unread by the body's reader
])
def test_bad_lines_are_named(raw, code):
    with pytest.raises(LineError) as refused:
        places.from_csv(raw, COLUMNS)
    assert refused.value.code == code


def test_names_may_hold_spaces_of_any_kind():
    assert places.checked_name("东门\u3000村") == "东门\u3000村"  # an ideographic space: not printable, not a control
    assert places.checked_name("村" * 100) == "村" * 100


def test_the_header_finds_its_columns():
    assert places.csv_header(b"\xef\xbb\xbfname,level, Code ") == (2, 0)
    with pytest.raises(LineError) as refused:
        places.csv_header(b"320413103,x")
    assert refused.value.code == "csv_header_invalid"
