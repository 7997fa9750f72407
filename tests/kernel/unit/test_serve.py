"""`cordon serve` sets the collector's thresholds for a serving process before the app is made."""

from __future__ import annotations

import gc

from cordon import cli


def test_a_serving_process_collects_cycles_at_its_own_thresholds(monkeypatch):
    seen = {}

    def run(app, **kwargs):
        seen["app"], seen["thresholds"] = app, gc.get_threshold()

    monkeypatch.setattr("uvicorn.run", run)
    monkeypatch.setattr(cli.services, "refusals", lambda names: [])
    before = gc.get_threshold()
    try:
        assert cli.main(["serve", "registry", "--port", "1"]) == 0
    finally:
        gc.set_threshold(*before)
    assert seen["thresholds"] == cli.COLLECTOR_THRESHOLDS != before
    assert seen["app"] == cli.services.app_path("registry")
