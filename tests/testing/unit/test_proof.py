from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.testing.domain.proof import Summary, negative_proof, summarize

NOW = datetime(2022, 3, 3, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)


def test_no_samples_no_proof():
    assert negative_proof(None, now=NOW, within_hours=48).valid is False
    assert negative_proof(Summary(), now=NOW, within_hours=48).valid is False


def test_negative_at_exactly_n_hours_is_still_valid():
    at = NOW - 48 * H
    proof = negative_proof(Summary(at, "B1", None), now=NOW, within_hours=48)
    assert proof.valid and proof.collected_at == at and proof.barcode == "B1"


def test_negative_a_moment_older_than_n_hours_is_not_valid_but_named():
    at = NOW - 48 * H - timedelta(microseconds=1)
    proof = negative_proof(Summary(at, "B1", None), now=NOW, within_hours=48)
    assert not proof.valid and proof.collected_at == at


def test_later_pool_positive_voids_the_negative():
    summary = summarize([("negative", NOW - 10 * H, "N"), ("pool_positive", NOW - 5 * H, "P")])
    proof = negative_proof(summary, now=NOW, within_hours=48)
    assert not proof.valid and proof.collected_at is None


def test_earlier_positive_does_not_void_a_later_negative():
    summary = summarize([("positive", NOW - 30 * H, "P"), ("negative", NOW - 5 * H, "N")])
    assert negative_proof(summary, now=NOW, within_hours=48).valid


def test_positive_collected_at_the_same_moment_voids_it():
    summary = summarize([("negative", NOW - 5 * H, "N"), ("positive", NOW - 5 * H, "P")])
    assert not negative_proof(summary, now=NOW, within_hours=48).valid


def test_pending_and_invalid_samples_do_not_count():
    summary = summarize([("negative", NOW - 5 * H, "N"), ("pending", NOW - H, "X"), ("invalid", NOW - 2 * H, "Y")])
    assert summary == Summary(NOW - 5 * H, "N", None)


@given(st.lists(st.tuples(st.sampled_from(["negative", "positive", "pool_positive", "invalid", "pending"]), st.integers(0, 500)), max_size=30), st.integers(1, 400))
def test_proof_matches_its_definition(samples, within):
    rows = [(status, NOW - hours * H, f"B{i}") for i, (status, hours) in enumerate(samples)]
    proof = negative_proof(summarize(rows), now=NOW, within_hours=within)
    negatives = [at for status, at, _ in rows if status == "negative"]
    positives = [at for status, at, _ in rows if status in ("positive", "pool_positive")]
    expected = bool(negatives) and max(negatives) >= NOW - within * H and not any(p >= max(negatives) for p in positives)
    assert proof.valid == expected
