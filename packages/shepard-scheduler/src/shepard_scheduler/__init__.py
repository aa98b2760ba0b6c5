"""Shepard's Lambda handlers: the S3-event scheduler and the batching endpoint, over one scheduling core."""

from shepard_scheduler._aws import AwsClients, aws_clients
from shepard_scheduler._config import SchedulerConfig, SchedulerConfigError
from shepard_scheduler._core import S3ObjectRef, Scheduler
from shepard_scheduler._outcome import (
    JobInFlightError,
    MalformedMessageError,
    Outcome,
    OutcomeKind,
    SchedulingError,
)

__all__ = [
    "AwsClients",
    "JobInFlightError",
    "MalformedMessageError",
    "Outcome",
    "OutcomeKind",
    "S3ObjectRef",
    "Scheduler",
    "SchedulerConfig",
    "SchedulerConfigError",
    "SchedulingError",
    "aws_clients",
]
