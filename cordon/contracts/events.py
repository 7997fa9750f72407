"""Events published by the events service."""

from __future__ import annotations
