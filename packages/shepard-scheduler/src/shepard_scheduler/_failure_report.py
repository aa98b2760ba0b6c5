"""Word Batch's reason for a job's end, and file it in the errors bucket as the job's error zip."""

from __future__ import annotations

import io
import json
import zipfile
from typing import TYPE_CHECKING, Final

from botocore.exceptions import ClientError
from shepard_core import error_object_name, explain_batch_reason

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from shepard_scheduler._batch_events import BatchEnd

REASON_MEMBER: Final = "reason.txt"
EXIT_CODE_MEMBER: Final = "exit_code.txt"
"""The members the worker's error zip has for the reason and the exit code, under the same names."""
BATCH_JOB_MEMBER: Final = "batch_job.json"
"""The Batch event's job detail, as Batch sent it."""

_PRECONDITION_FAILED: Final = frozenset({"PreconditionFailed", "412"})


def failure_reason(end: BatchEnd) -> str:
    """Return why the job ended as Batch tells it: reason and its plain words, attempt, container exit."""
    said = end.status_reason or "no reason given"
    if end.status == "SUCCEEDED":
        text = (
            f"AWS Batch reports the job SUCCEEDED (attempt {end.attempts}) but its worker never recorded "
            f"a final status: {said}"
        )
    elif end.attempts == 0:
        text = f"AWS Batch ended the job before it started (FAILED): {said}"
    else:
        text = f"AWS Batch ended the job (FAILED) on attempt {end.attempts}: {said}"
    if end.exit_code is not None:
        text += f"; container exit code {end.exit_code}"
    if end.container_reason and end.container_reason != end.status_reason:
        text += f" ({end.container_reason})"
    if (meaning := explain_batch_reason(end.status_reason)) is not None:
        text += f". {meaning[0].upper()}{meaning[1:]}"
    return text


def _zip(reason: str, end: BatchEnd) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(REASON_MEMBER, reason + "\n")
        archive.writestr(EXIT_CODE_MEMBER, "" if end.exit_code is None else f"{end.exit_code}\n")
        archive.writestr(BATCH_JOB_MEMBER, json.dumps(end.detail, indent=2, sort_keys=True, default=str))
    return buffer.getvalue()


def put_failure_report(  # noqa: PLR0913 - the zip's name needs the job's parts
    s3: S3Client, bucket: str, *, job_uuid: str, start_time: str, tag: str | None, reason: str, end: BatchEnd
) -> str:
    """Write the job's error zip unless one exists (the worker's comes first); return its key either way."""
    key = error_object_name(job_uuid, start_time, tag)
    try:
        s3.put_object(
            Bucket=bucket, Key=key, Body=_zip(reason, end), ContentType="application/zip", IfNoneMatch="*"
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in _PRECONDITION_FAILED:
            raise
    return key
