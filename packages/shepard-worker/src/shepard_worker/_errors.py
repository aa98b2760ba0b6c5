"""The worker's exit codes and the errors that end a job early, each carrying its exit code."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """The worker process's exit status, as AWS Batch (and its retry strategy) sees it."""

    OK = 0
    PAYLOAD_FAILED = 1
    CONFIG_ERROR = 2
    JOB_NOT_FOUND = 3
    CLAIM_REFUSED = 4
    STAGING_FAILED = 5
    UPLOAD_FAILED = 6
    LOST_OWNERSHIP = 7
    INTERNAL_ERROR = 70
    TERMINATED = 143


class WorkerError(Exception):
    """A job cannot go on; the message says why and `exit_code` is what the worker exits with."""

    exit_code: ExitCode = ExitCode.INTERNAL_ERROR


class WorkerConfigError(WorkerError):
    """The worker's environment (job definition or overrides) is missing or malformed."""

    exit_code = ExitCode.CONFIG_ERROR


class JobNotFoundError(WorkerError):
    """The job's row is not in the table."""

    exit_code = ExitCode.JOB_NOT_FOUND


class ClaimRefusedError(WorkerError):
    """The row may not be claimed: it is finished, rejected or owned by an equal or later attempt."""

    exit_code = ExitCode.CLAIM_REFUSED


class AlreadyCompleteError(ClaimRefusedError):
    """The job already completed; a duplicate or late attempt has nothing to do and exits 0."""

    exit_code = ExitCode.OK


class FencedOutError(ClaimRefusedError):
    """The job is not this worker's to run: its row names another array's claim, or it has no job."""

    exit_code = ExitCode.OK


class TerminatedError(WorkerError):
    """The worker was asked to stop (SIGTERM, e.g. a Spot reclaim) before the job finished."""

    exit_code = ExitCode.TERMINATED


class LostOwnershipError(WorkerError):
    """A later attempt took the job over while this one was running; this worker must stop touching it."""

    exit_code = ExitCode.LOST_OWNERSHIP


class StagingError(WorkerError):
    """The job's inputs, quick-deploy folder, secrets or payload could not be laid out."""

    exit_code = ExitCode.STAGING_FAILED


class SecretNameError(StagingError):
    """A secret's key is not a plain file name, so it cannot become a file in the secrets folder."""


class QuickDeployStagingError(StagingError):
    """QUICK_DEPLOY_DIRECTORY names no usable folder in the quick-deploy bucket."""


class PayloadStartError(StagingError):
    """The payload could not be started (no image, no run.sh, the engine refused it)."""


class UploadError(WorkerError):
    """An output zip could not be uploaded."""

    exit_code = ExitCode.UPLOAD_FAILED
