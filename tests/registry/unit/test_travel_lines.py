from datetime import date
from functools import partial

import pytest

from cordon.batches import LineError
from services.registry.domain import travel_lines

parse = partial(travel_lines.parse, today=date(2022, 1, 10), horizon_days=14)

GOOD = {"record_id": "r1", "phone": "13812345678", "region_code": "420106", "first_seen": "2022-01-01", "last_seen": "2022-01-03"}


def test_a_good_line():
    line = parse(b'{"record_id": "r1", "phone": "13812345678", "region_code": "420106", "first_seen": "2022-01-01", "last_seen": "2022-01-03"}')
    assert line.record_id == "r1" and line.region_code == "420106"


def test_moments_become_china_days():
    line = parse({**GOOD, "first_seen": "2022-01-01T17:00:00Z", "last_seen": "2022-01-02T01:00:00+08:00"})
    assert str(line.first_seen) == "2022-01-02" and str(line.last_seen) == "2022-01-02"


@pytest.mark.parametrize(
    "raw,code",
    [
        (b"{not json", "invalid_json"),
        (b"[1, 2]", "invalid_record"),
        ({**GOOD, "record_id": ""}, "record_id_missing"),
        ({k: v for k, v in GOOD.items() if k != "record_id"}, "record_id_missing"),
        ({k: v for k, v in GOOD.items() if k != "phone"}, "person_missing"),
        ({**GOOD, "phone": "12345"}, "phone_invalid"),
        ({**GOOD, "id_number": "320413199001011235"}, "id_number_invalid"),
        ({**GOOD, "id_number": "320413199013011235"}, "id_number_invalid"),  # month 13, check character right
        ({**GOOD, "region_code": "4201"}, "region_code_invalid"),
        ({**GOOD, "region_code": 420106}, "region_code_invalid"),
        ({**GOOD, "first_seen": "2022-13-01"}, "invalid_date"),
        ({**GOOD, "last_seen": 20220103}, "invalid_date"),
        ({**GOOD, "first_seen": "2022-01-05"}, "dates_reversed"),
        # Out of bounds (issue: one far-future date stopped the registry's clock).
        ({**GOOD, "last_seen": "9999-12-31"}, "date_out_of_range"),
        ({**GOOD, "first_seen": "0001-01-01T00:00:00+14:00"}, "date_out_of_range"),
        ({**GOOD, "last_seen": "9999-12-31T23:59:59-14:00"}, "date_out_of_range"),
        ({**GOOD, "first_seen": "2018-12-31"}, "date_out_of_range"),
        # Outside the policy's horizon of today, either side.
        ({**GOOD, "first_seen": "2021-12-01", "last_seen": "2021-12-26"}, "date_out_of_range"),
        ({**GOOD, "last_seen": "2022-01-25"}, "date_out_of_range"),
    ],
)
def test_each_bad_line_names_its_problem(raw, code):
    with pytest.raises(LineError) as caught:
        parse(raw)
    assert caught.value.code == code
