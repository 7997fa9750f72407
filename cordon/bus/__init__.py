"""The event bus: CloudEvents on NATS JetStream with a transactional outbox and an inbox."""

from cordon.bus.consumer import ConsumerSpec, Transient
from cordon.bus.runtime import Bus

__all__ = ["Bus", "ConsumerSpec", "Transient"]
