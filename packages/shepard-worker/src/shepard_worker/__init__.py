"""Shepard's AWS Batch container entrypoint: stage a job, run its payload, ship its outputs."""

from shepard_worker._cli import main
from shepard_worker._config import PASSTHROUGH_VARIABLES, WorkerConfig
from shepard_worker._docker_runtime import DockerRuntime
from shepard_worker._errors import (
    AlreadyCompleteError,
    ClaimRefusedError,
    ExitCode,
    FencedOutError,
    JobNotFoundError,
    LostOwnershipError,
    PayloadStartError,
    QuickDeployStagingError,
    SecretNameError,
    StagingError,
    TerminatedError,
    UploadError,
    WorkerConfigError,
    WorkerError,
)
from shepard_worker._job_lookup import locate_job, manifest_job_uuid
from shepard_worker._lifecycle import JobResult, make_runtime, run_job
from shepard_worker._logs import PayloadLog
from shepard_worker._process_runtime import ProcessRuntime
from shepard_worker._runtime import PayloadSpec, RunningPayload, Runtime
from shepard_worker._upload import upload_stream
from shepard_worker._zipping import ZipStats, zip_folder

__all__ = [
    "PASSTHROUGH_VARIABLES",
    "AlreadyCompleteError",
    "ClaimRefusedError",
    "DockerRuntime",
    "ExitCode",
    "FencedOutError",
    "JobNotFoundError",
    "JobResult",
    "LostOwnershipError",
    "PayloadLog",
    "PayloadSpec",
    "PayloadStartError",
    "ProcessRuntime",
    "QuickDeployStagingError",
    "RunningPayload",
    "Runtime",
    "SecretNameError",
    "StagingError",
    "TerminatedError",
    "UploadError",
    "WorkerConfig",
    "WorkerConfigError",
    "WorkerError",
    "ZipStats",
    "locate_job",
    "main",
    "make_runtime",
    "manifest_job_uuid",
    "run_job",
    "upload_stream",
    "zip_folder",
]
