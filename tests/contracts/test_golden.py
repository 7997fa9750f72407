"""Every event version's JSON schema is pinned in golden/: a change that breaks consumers cannot slip in.

Adding an optional field is allowed: regenerate with `python -m tests.contracts.test_golden` and
review the diff. A breaking change needs a new version class instead.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cordon import contracts

GOLDEN = Path(__file__).parent / "golden"


def catalog() -> dict[str, type[contracts.Event]]:
    contracts._load_all()
    return {t: cls for t, cls in contracts.CATALOG.items() if cls.__module__.startswith("cordon.contracts")}


def schema(cls: type[contracts.Event]) -> dict:
    return cls.model_json_schema(mode="serialization")


@pytest.mark.parametrize("event_type", sorted(catalog()))
def test_event_schema_matches_golden(event_type):
    golden = GOLDEN / f"{event_type}.json"
    assert golden.exists(), f"no golden schema for {event_type}: regenerate and review"
    assert schema(catalog()[event_type]) == json.loads(golden.read_text())


def test_no_golden_without_its_event():
    assert {p.stem for p in GOLDEN.glob("*.json")} == set(catalog())


def test_subjects_belong_to_their_producers_stream():
    from cordon.bus.streams import STREAMS

    prefixes = {subjects[0].removesuffix(">") for subjects in STREAMS.values()}
    for event_type in catalog():
        assert any(event_type.startswith(p) for p in prefixes), event_type


if __name__ == "__main__":
    for stale in GOLDEN.glob("*.json"):
        stale.unlink()
    for event_type, cls in catalog().items():
        (GOLDEN / f"{event_type}.json").write_text(json.dumps(schema(cls), indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {len(catalog())} golden schemas")
