"""Which job a worker runs: its UUID override, or an array child's entry in the array's manifest."""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

from shepard_core import Attr, is_valid_batch_job_name, manifest_location

from shepard_worker._errors import FencedOutError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from shepard_worker._config import WorkerConfig

log = logging.getLogger("shepard_worker")


def manifest_job_uuid(dynamodb: DynamoDBClient, table: str, *, claim: str, index: int) -> str:
    """Return the UUID of child `index` of the array claimed by `claim`, read with one GetItem.

    Raises FencedOutError when the manifest item or its entry is missing: the child has no job.
    """
    key, position = manifest_location(claim, index)
    item = dynamodb.get_item(
        TableName=table,
        Key={Attr.UUID: {"S": key}},
        ConsistentRead=True,
        ProjectionExpression="#jobs",
        ExpressionAttributeNames={"#jobs": Attr.MANIFEST_JOBS},
    ).get("Item")
    jobs = (item or {}).get(Attr.MANIFEST_JOBS, {}).get("L", [])
    if not jobs:
        raise FencedOutError(
            f"array child {index} of claim {claim} has no job: table {table} has no manifest item {key} "
            "(the array's scheduler never wrote it, or it has expired)"
        )
    if position >= len(jobs):
        raise FencedOutError(
            f"array child {index} of claim {claim} has no job: manifest item {key} lists only {len(jobs)}"
        )
    job_uuid = str(jobs[position].get("S", ""))
    if not is_valid_batch_job_name(job_uuid):
        raise FencedOutError(
            f"array child {index} of claim {claim} has no job: manifest item {key} holds {job_uuid!r} "
            f"at position {position}, which is not a job id"
        )
    return job_uuid


def locate_job(config: WorkerConfig, dynamodb: DynamoDBClient) -> WorkerConfig:
    """Return `config` naming its job: unchanged for a plain job, with the manifest's UUID for a child."""
    if not config.is_array_child or config.array_claim is None or config.array_index is None:
        return config
    job_uuid = manifest_job_uuid(
        dynamodb, config.table_name, claim=config.array_claim, index=config.array_index
    )
    log.info("array child %d of claim %s runs job %s", config.array_index, config.array_claim, job_uuid)
    return dataclasses.replace(config, job_uuid=job_uuid)
