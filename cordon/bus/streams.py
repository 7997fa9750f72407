"""The JetStream streams: one per producing service, declared idempotently by every service at start."""

from __future__ import annotations

import logging

import nats.js.errors
from nats.js import JetStreamContext, api

log = logging.getLogger("cordon.bus.streams")

STREAMS: dict[str, list[str]] = {
    "REGISTRY": ["registry.>"],
    "TESTING": ["testing.>"],
    "GATHERINGS": ["gatherings.>"],
    "NOTIFY": ["notify.>"],
    "AUTH": ["auth.>"],
}

# Must outlast the relay's longest retry (its backoff is capped at 30 s) and any
# plausible gap between publishing a row and marking it sent.
DUPLICATE_WINDOW_S = 2 * 3600
MAX_AGE_S = 30 * 24 * 3600


def stream_config(name: str, subjects: list[str], replicas: int = 1) -> api.StreamConfig:
    return api.StreamConfig(
        name=name,
        subjects=subjects,
        storage=api.StorageType.FILE,
        retention=api.RetentionPolicy.LIMITS,
        max_age=MAX_AGE_S,
        duplicate_window=DUPLICATE_WINDOW_S,
        num_replicas=replicas,
    )


async def declare(js: JetStreamContext, streams: dict[str, list[str]] = STREAMS, replicas: int = 1) -> None:
    """Create each stream, or bring an existing one to this configuration."""
    for name, subjects in streams.items():
        config = stream_config(name, subjects, replicas)
        try:
            await js.add_stream(config)
        except nats.js.errors.BadRequestError:  # exists with another configuration
            log.info("updating stream", extra={"stream": name})
            await js.update_stream(config)
