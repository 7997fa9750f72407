"""Helpers every benchmark shares (more of them still live in bench/travel_ingest.py)."""

from __future__ import annotations

import contextlib
import os
import platform
from datetime import date, timedelta
from pathlib import Path


def id_number(i: int, region: str = "320413") -> str:
    """A valid 18-character resident ID number with a real birth date, distinct for each i < 30,000,000."""
    from cordon.pii import id_check_character

    born = date(1940, 1, 1) + timedelta(days=i % 30000)
    first17 = f"{region}{born:%Y%m%d}{i // 30000 % 1000:03d}"
    return first17 + id_check_character(first17)


# The load on the machine when the benchmark started (this module is imported at its start):
# other work sharing the cores skews every figure, so each script prints it.
LOAD_AT_START = os.getloadavg()


def machine() -> str:
    """CPU model, cores, Python, and the load average the run started at."""
    cpu = platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = ", ".join(f"{x:.1f}" for x in LOAD_AT_START)
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}; load average at start {load} (1, 5, 15 min)"
