"""Incoming events -> use cases."""

from __future__ import annotations

from cordon.bus import ConsumerSpec

CONSUMERS: list[ConsumerSpec] = []
