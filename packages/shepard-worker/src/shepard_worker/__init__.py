"""Shepard's AWS Batch container entrypoint: stage a job, run its payload, ship its outputs."""

from shepard_worker._config import WorkerConfig
from shepard_worker._errors import ExitCode, WorkerConfigError
from shepard_worker._lifecycle import JobResult, run_job

__all__ = [
    "ExitCode",
    "JobResult",
    "WorkerConfig",
    "WorkerConfigError",
    "run_job",
]
