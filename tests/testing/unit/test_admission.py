from datetime import UTC, datetime, timedelta

from services.testing.domain.samples import SampleFacts, admit

NOW = datetime(2022, 3, 3, 12, 0, tzinfo=UTC)


def facts(barcode, tube="T1", index="idx-1", at=NOW - timedelta(hours=1)):
    return SampleFacts(barcode, index, at, "site-1", tube)


def verdicts(batch, **kwargs):
    args = {"existing": {}, "tube_members": {}, "tested_tubes": set(), "pool_max": 3, "now": NOW, **kwargs}
    return [(d.verdict, d.code) for d in admit(batch, **args)]


def test_same_barcode_same_content_is_a_duplicate_other_content_a_conflict():
    known = {"B1": facts("B1")}
    assert verdicts([facts("B1"), facts("B1", index="idx-2")], existing=known) == [
        ("duplicate", None), ("reject", "barcode_conflict")
    ]


def test_a_barcode_repeated_inside_one_batch():
    assert verdicts([facts("B1"), facts("B1"), facts("B1", tube="T2")]) == [
        ("accept", None), ("duplicate", None), ("reject", "barcode_conflict")
    ]


def test_pool_limit_counts_stored_members_and_the_batch():
    batch = [facts("B1"), facts("B2"), facts("B3")]
    assert verdicts(batch, tube_members={"T1": 1}) == [("accept", None), ("accept", None), ("reject", "pool_too_large")]


def test_tested_tube_takes_no_more_members():
    assert verdicts([facts("B1")], tested_tubes={"T1"}) == [("reject", "tube_already_tested")]


def test_future_collection_refused_within_clock_skew_allowed():
    assert verdicts([facts("B1", at=NOW + timedelta(minutes=5)), facts("B2", at=NOW + timedelta(hours=1))]) == [
        ("accept", None), ("reject", "collected_at_in_future")
    ]


def test_single_samples_have_no_pool_limit():
    batch = [facts(f"B{i}", tube=None) for i in range(10)]
    assert all(v == "accept" for v, _ in verdicts(batch))
