"""Per-job CloudWatch metrics: one embedded metric format (EMF) document on the worker's stdout per job."""

from __future__ import annotations

import dataclasses
import json
import time
from typing import IO, TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Callable

PROJECT_DIMENSION: Final = "Project"
"""The one dimension of every worker metric: the flock's ProjectName (also the metrics' namespace)."""

STAGING_SECONDS: Final = "StagingSeconds"
PAYLOAD_SECONDS: Final = "PayloadSeconds"
UPLOAD_SECONDS: Final = "UploadSeconds"
UPLOAD_BYTES: Final = "UploadBytes"
EXIT_CODE: Final = "ExitCode"
JOBS_COMPLETED: Final = "JobsCompleted"
JOBS_FAILED: Final = "JobsFailed"
ATTEMPT: Final = "Attempt"

UNITS: Final[dict[str, str]] = {
    STAGING_SECONDS: "Seconds",
    PAYLOAD_SECONDS: "Seconds",
    UPLOAD_SECONDS: "Seconds",
    UPLOAD_BYTES: "Bytes",
    EXIT_CODE: "None",
    JOBS_COMPLETED: "Count",
    JOBS_FAILED: "Count",
    ATTEMPT: "Count",
}
"""Every metric the worker publishes, with its CloudWatch unit."""


@dataclasses.dataclass(kw_only=True)
class JobMeasures:
    """What one job's phases took; a phase that never ran stays None and is left out of the document."""

    staging_seconds: float | None = None
    payload_seconds: float | None = None
    upload_seconds: float | None = None
    upload_bytes: int | None = None
    clock: Callable[[], float] = time.monotonic

    def start(self) -> float:
        """Return the clock's reading, to pass to `since` when the phase ends."""
        return self.clock()

    def since(self, started: float) -> float:
        """Return the seconds since `started` (a reading of `start`)."""
        return max(self.clock() - started, 0.0)


def emf_document(  # noqa: PLR0913 - one document carries the job's every figure
    measures: JobMeasures,
    *,
    project: str,
    job_uuid: str,
    exit_code: int,
    succeeded: bool,
    attempt: int,
    properties: dict[str, object] | None = None,
    timestamp_ms: int | None = None,
) -> dict[str, object]:
    """Return the EMF document of one finished job: its figures in the project's namespace and dimension."""
    values: dict[str, float | None] = {
        STAGING_SECONDS: measures.staging_seconds,
        PAYLOAD_SECONDS: measures.payload_seconds,
        UPLOAD_SECONDS: measures.upload_seconds,
        UPLOAD_BYTES: measures.upload_bytes,
        EXIT_CODE: exit_code,
        JOBS_COMPLETED: int(succeeded),
        JOBS_FAILED: int(not succeeded),
        ATTEMPT: attempt,
    }
    present = {name: value for name, value in values.items() if value is not None}
    extra = {k: v for k, v in (properties or {}).items() if v is not None and k not in UNITS}
    return {
        "_aws": {
            "Timestamp": timestamp_ms if timestamp_ms is not None else int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": project,
                    "Dimensions": [[PROJECT_DIMENSION]],
                    "Metrics": [{"Name": name, "Unit": UNITS[name]} for name in present],
                }
            ],
        },
        **extra,
        PROJECT_DIMENSION: project,
        "JobId": job_uuid,
        **present,
    }


def publish(document: dict[str, object], stream: IO[bytes]) -> None:
    """Write `document` to `stream` as one JSON line (CloudWatch Logs extracts its metrics); never raise."""
    line = json.dumps(document, separators=(",", ":"), ensure_ascii=True).encode() + b"\n"
    try:
        stream.write(line)
        stream.flush()
    except (OSError, ValueError):
        pass  # a closed stdout must not fail the job
