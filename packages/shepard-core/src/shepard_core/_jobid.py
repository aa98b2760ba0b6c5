"""Derive a job's UUID deterministically from what caused it, so a redelivered event is the same job."""

from __future__ import annotations

import re
import uuid
from typing import Final

JOB_ID_NAMESPACE: Final = uuid.UUID("6f1d2a52-4c3e-5b8e-9a57-536865706172")
"""The UUIDv5 namespace of Shepard job ids; changing it would re-run every redelivered event."""

_BATCH_JOB_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}\Z")


def job_id_for_s3_object(
    bucket: str,
    key: str,
    *,
    version_id: str | None = None,
    etag: str | None = None,
    sequencer: str | None = None,
) -> str:
    """Return the job UUID of one S3 object version: the same object always gives the same UUID.

    The object is identified by its version id when the bucket is versioned, otherwise by its ETag
    and, where S3 sent one, the event sequencer (two uploads of identical bytes differ there).
    """
    if version_id and version_id != "null":
        identity = f"s3\0{bucket}\0{key}\0version\0{version_id}"
    elif etag:
        identity = f"s3\0{bucket}\0{key}\0etag\0{etag.strip(chr(34))}\0{sequencer or ''}"
    else:
        raise ValueError("an S3 object needs a version id or an ETag to be identified")
    return str(uuid.uuid5(JOB_ID_NAMESPACE, identity))


def job_id_for_api_request(request_id: str) -> str:
    """Return the job UUID of one batching-endpoint request (a retried invocation keeps its id)."""
    if not request_id:
        raise ValueError("an API request needs a request id to be identified")
    return str(uuid.uuid5(JOB_ID_NAMESPACE, f"api\0{request_id}"))


def job_id_for_run_again(original: str, request_id: str) -> str:
    """Return the UUID of the job that runs job `original` again for request `request_id`.

    The same request (a repeated click, a re-run command) always gives the same UUID, so it makes
    one new job however often it arrives; another request gives another job.
    """
    if not original or not request_id:
        raise ValueError("a run-again needs the original job's UUID and a request id")
    return str(uuid.uuid5(JOB_ID_NAMESPACE, f"run-again\0{original.lower()}\0{request_id}"))


def is_valid_batch_job_name(name: str) -> bool:
    """Return whether AWS Batch accepts `name` as a job name (1-128 of [A-Za-z0-9_-], alnum first)."""
    return bool(_BATCH_JOB_NAME.match(name))
