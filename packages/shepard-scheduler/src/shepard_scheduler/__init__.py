"""Shepard's Lambda handlers: the S3-event scheduler and the batching endpoint, over one scheduling core."""

from shepard_scheduler._config import SchedulerConfig, SchedulerConfigError

__all__ = [
    "SchedulerConfig",
    "SchedulerConfigError",
]
