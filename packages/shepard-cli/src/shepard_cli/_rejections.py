"""Rejection reports in the errors bucket: read them, tell whether one is still current, say where one is.

The scheduler writes `rejected/<zip key>.json` for each rejected upload and never removes it (that
would cost an S3 call per scheduled job). The report names the upload it is about: the job's
`uuid` and the object's `etag` / `version_id` in `inputs_bucket`. So a report is current only while
the inputs bucket still holds that very object; once the key has been uploaded again, the report
describes an upload that was replaced, and the CLI no longer shows it as a rejected job.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from shepard_core import REJECTED_PREFIX, Attr, JobRow, api_rejection_report_key, rejection_report_key

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mypy_boto3_s3 import S3Client


def report_reason(document: object) -> str:
    """Return the reason a report gives, or the report itself as JSON when it names none."""
    if isinstance(document, dict):
        for key in ("reason", "message", "error", "rejection_reason", Attr.REJECTION_REASON):
            if document.get(key):
                return str(document[key])
    return json.dumps(document)


def rejection_reports(s3: S3Client, bucket: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (zip key, report) for each rejection report in the errors bucket."""
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=REJECTED_PREFIX):
        for obj in page.get("Contents", []):
            key = obj["Key"]
            if not key.endswith(".json"):
                continue
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            try:
                document = json.loads(body)
            except ValueError:
                document = {"reason": body.decode("utf-8", "replace")}
            report = document if isinstance(document, dict) else {"reason": report_reason(document)}
            yield key.removeprefix(REJECTED_PREFIX).removesuffix(".json"), report


def _etag(value: object) -> str:
    return str(value or "").strip('"')


def is_superseded(s3: S3Client, report: dict[str, Any]) -> bool:
    """Return whether the key a report is about now holds another upload than the rejected one.

    A report that names no inputs bucket or object version, or whose key cannot be looked at
    (deleted, or no permission), is taken as current.
    """
    bucket, key = report.get("inputs_bucket"), report.get("input_zip_name")
    etag, version = _etag(report.get("etag")), report.get("version_id")
    if not bucket or not key or not (etag or version):
        return False
    import botocore.exceptions

    try:
        head = s3.head_object(Bucket=str(bucket), Key=str(key))
    except botocore.exceptions.ClientError:
        return False
    if version:
        return str(head.get("VersionId")) != str(version)
    return _etag(head.get("ETag")) != etag


def report_key(row: JobRow) -> str:
    """Return the errors-bucket key of the report of a rejected job."""
    return api_rejection_report_key(row.uuid) if row.is_invoked else rejection_report_key(row.input_zip_name)


def report_location(row: JobRow, errors_bucket: str | None) -> str:
    """Return where a rejected job's report is, as an S3 URL when the errors bucket is known."""
    key = report_key(row)
    return f"s3://{errors_bucket}/{key}" if errors_bucket else f"key {key} of the flock's errors bucket"


def rejected_job_message(row: JobRow, errors_bucket: str | None, s3: S3Client | None) -> tuple[str, str]:
    """Return (what happened, what to do) for a rejected job, naming its report and whether it is current."""
    reason = " ".join((row.rejection_reason or "no reason recorded").split())
    where = report_location(row, errors_bucket)
    if s3 is not None and errors_bucket:
        import botocore.exceptions

        try:
            body = s3.get_object(Bucket=errors_bucket, Key=report_key(row))["Body"].read()
            named = json.loads(body).get("uuid")
        except (botocore.exceptions.ClientError, ValueError, AttributeError):
            named = None
        if named and named != row.uuid:
            where += f", which now describes a later upload of the same key (job {named})"
    again = (
        "fix the payload and send it again with shepard batch-via-api"
        if row.is_invoked
        else f"fix the job's inputs and upload {row.input_zip_name} again (the new upload is a new job)"
    )
    cause = f"job {row.uuid} was rejected when it was scheduled, so it never ran and has no logs: {reason}"
    return cause, f"The report is {where}; {again}"
