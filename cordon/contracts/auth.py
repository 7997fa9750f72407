"""Events published by the auth service."""

from __future__ import annotations
