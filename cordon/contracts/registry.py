"""Events published by the registry service."""

from __future__ import annotations
