"""Events published by the testing service."""

from __future__ import annotations
