"""Shepard's Lambda handlers: the S3-event scheduler, the batching endpoint and the Batch-end reconciler."""

from shepard_scheduler._aws import AwsClients, aws_clients
from shepard_scheduler._batch_events import BatchEnd, NotAnEndError, read_batch_end
from shepard_scheduler._config import ConfigError, ReconcilerConfig, SchedulerConfig
from shepard_scheduler._core import S3ObjectRef, Scheduler
from shepard_scheduler._outcome import (
    JobInFlightError,
    MalformedMessageError,
    Outcome,
    OutcomeKind,
    SchedulingError,
)
from shepard_scheduler._reconcile import ReconcileKind, Reconciler, Reconciliation

__all__ = [
    "AwsClients",
    "BatchEnd",
    "ConfigError",
    "JobInFlightError",
    "MalformedMessageError",
    "NotAnEndError",
    "Outcome",
    "OutcomeKind",
    "ReconcileKind",
    "Reconciler",
    "ReconcilerConfig",
    "Reconciliation",
    "S3ObjectRef",
    "Scheduler",
    "SchedulerConfig",
    "SchedulingError",
    "aws_clients",
    "read_batch_end",
]
