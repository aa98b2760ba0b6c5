"""Shepard's Lambda handlers: the S3-event scheduler, the batching endpoint and the Batch-end reconciler."""

from shepard_scheduler._config import (
    ReconcilerConfig,
    ReconcilerConfigError,
    SchedulerConfig,
    SchedulerConfigError,
)

__all__ = [
    "ReconcilerConfig",
    "ReconcilerConfigError",
    "SchedulerConfig",
    "SchedulerConfigError",
]
