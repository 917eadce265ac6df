"""How a worker delivers: connections, batch size, leases, timeouts, the retry policy."""

from __future__ import annotations

from dataclasses import dataclass, field

from postroom.autoconfig.presets import Preset
from postroom.config import Settings
from postroom.services.outbox import RetryPolicy


@dataclass(frozen=True)
class DeliveryOptions:
    connections_per_route: int = 4
    batch_size: int = 200
    lease_seconds: float = 300.0
    smtp_timeout: float = 300.0
    connect_timeout: float = 60.0
    poll_seconds: float = 1.0
    # A connection waits this long for more mail to its server before it says QUIT.
    idle_seconds: float = 2.0
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    presets: tuple[Preset, ...] | None = None  # None: the bundled presets
    auth_failure_limit: int = 10
    # Accepted, not yet recorded messages per connection before the next final "." waits.
    unrecorded_per_connection: int = 1

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryOptions:
        return cls(
            connections_per_route=settings.delivery_connections,
            batch_size=settings.delivery_batch_size,
            lease_seconds=settings.delivery_lease_seconds,
            smtp_timeout=settings.delivery_smtp_timeout_seconds,
            connect_timeout=min(60.0, settings.delivery_smtp_timeout_seconds),
            poll_seconds=min(1.0, settings.worker_poll_seconds),
            policy=RetryPolicy(
                settings.delivery_retry_base_seconds, settings.delivery_retry_max_seconds
            ),
            auth_failure_limit=settings.account_auth_failure_limit,
            unrecorded_per_connection=settings.delivery_unrecorded_per_connection,
        )
