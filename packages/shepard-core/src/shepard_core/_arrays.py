"""How Batch array jobs carry Shepard jobs: claim tokens, manifests and child job ids.

One scheduler invocation claims its jobs' rows with a fresh claim token, writes the array's
manifest (the job UUIDs in child-index order, in a few table items) and submits one Batch array job
whose only override is the token. A child reads its job's UUID from the manifest at its
`AWS_BATCH_JOB_ARRAY_INDEX` and claims the row only if the row still names the same token, so a job
claimed by two arrays (after a lost SubmitJob response) runs in exactly one of them.
"""

from __future__ import annotations

import uuid
from typing import Final

MIN_ARRAY_SIZE: Final = 2
"""Batch's smallest array; a group of one job is submitted as a plain job."""

MAX_ARRAY_SIZE: Final = 10_000
"""Batch's largest array (children per SubmitJob)."""

MANIFEST_CHUNK_SIZE: Final = 1_000
"""Job UUIDs per manifest item: about 37 KB, far under DynamoDB's 400 KB item limit."""

MANIFEST_KEY_PREFIX: Final = "SHEPARD_ARRAY#"
"""The start of a manifest item's partition key; no job UUID starts with it."""

ARRAY_INDEX_VARIABLE: Final = "AWS_BATCH_JOB_ARRAY_INDEX"
"""The variable Batch sets in each array child: its index, 0 to size - 1."""

BATCH_JOB_ID_VARIABLE: Final = "AWS_BATCH_JOB_ID"
"""The variable Batch sets in every job: its id, `<array id>:<index>` for an array child."""


def new_claim_token() -> str:
    """Return a fresh claim token: 32 hex digits, unique per scheduling attempt."""
    return uuid.uuid4().hex


def array_job_name(token: str) -> str:
    """Return the Batch job name of the array (or plain job) that carries the jobs claimed by `token`."""
    return f"shepard-{token}"


def manifest_key(token: str, chunk: int) -> str:
    """Return the partition key of manifest item number `chunk` of the array claimed by `token`."""
    return f"{MANIFEST_KEY_PREFIX}{token}#{chunk}"


def is_manifest_key(partition_key: str) -> bool:
    """Return whether a table item with this partition key is an array manifest, not a job row."""
    return partition_key.startswith(MANIFEST_KEY_PREFIX)


def manifest_chunks(token: str, job_ids: list[str]) -> list[tuple[str, list[str]]]:
    """Return the manifest items of an array: (partition key, job UUIDs in index order) per chunk."""
    return [
        (manifest_key(token, start // MANIFEST_CHUNK_SIZE), job_ids[start : start + MANIFEST_CHUNK_SIZE])
        for start in range(0, len(job_ids), MANIFEST_CHUNK_SIZE)
    ]


def manifest_location(token: str, index: int) -> tuple[str, int]:
    """Return the manifest item key holding child `index`'s job UUID, and its position in that item."""
    if index < 0:
        raise ValueError(f"an array index is at least 0, not {index}")
    return manifest_key(token, index // MANIFEST_CHUNK_SIZE), index % MANIFEST_CHUNK_SIZE


def child_job_id(array_job_id: str, index: int) -> str:
    """Return the Batch job id of child `index` of the array job `array_job_id`."""
    return f"{array_job_id}:{index}"


def parse_child_job_id(batch_job_id: str) -> tuple[str, int | None]:
    """Return (array job id, index) for a child's id, or (the id, None) for a plain job's."""
    parent, sep, index = batch_job_id.rpartition(":")
    if sep and index.isdigit():
        return parent, int(index)
    return batch_job_id, None
