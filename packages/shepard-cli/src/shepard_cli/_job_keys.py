"""Name a job by its UUID or by its upload's key: `status`, `logs` and `cancel` take either.

The table's only key is the job UUID, which the scheduler derives from the uploaded object's identity
(bucket, key, version id). So a key is resolved with one HeadObject (its current version) and the same
derivation; only when the bucket is not versioned, or the object is gone, is the table scanned for the
row naming the key.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Final

from shepard_core import Attr, is_manifest_key, job_id_for_s3_object

from shepard_cli._errors import CliError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

_UUID: Final = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
_S3_URL: Final = re.compile(r"s3://(?P<bucket>[^/]+)/(?P<key>.+)\Z")
HTTP_NOT_FOUND: Final = 404


def is_job_uuid(name: str) -> bool:
    """Return whether `name` is written as a UUID (a job id) rather than an upload's key."""
    return bool(_UUID.match(name))


def _split(name: str, bucket: str | None) -> tuple[str | None, str]:
    """Return the bucket (None: unknown) and key a job's upload is named by (`KEY` or `s3://BUCKET/KEY`)."""
    url = _S3_URL.match(name)
    if url:
        return url["bucket"], url["key"]
    return bucket or None, name


def _current_version(s3: S3Client, bucket: str, key: str) -> str | None:
    """Return the version id of the object's current version (None: unversioned, "": no such object)."""
    import botocore.exceptions

    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except botocore.exceptions.ClientError as exc:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status == HTTP_NOT_FOUND or exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey"}:
            return ""
        raise
    version = head.get("VersionId")
    return version if version and version != "null" else None


def _scan_for_key(dynamodb: DynamoDBClient, table: str, key: str) -> str | None:
    """Return the UUID of the newest row naming `key` as its input zip (a full scan), or None."""
    found: list[tuple[str, str]] = []
    kwargs: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "#zip = :zip",
        "ExpressionAttributeNames": {"#zip": Attr.INPUT_ZIP_NAME, "#uuid": Attr.UUID, "#t": Attr.SUBMIT_TIME},
        "ExpressionAttributeValues": {":zip": {"S": key}},
        "ProjectionExpression": "#uuid, #t",
    }
    for page in dynamodb.get_paginator("scan").paginate(**kwargs):
        found.extend(
            (str(item.get(Attr.SUBMIT_TIME, {}).get("S", "")), str(item[Attr.UUID]["S"]))
            for item in page.get("Items", [])
        )
    return max(found)[1] if found else None


def _require_row(dynamodb: DynamoDBClient, table: str, job_id: str, upload: str) -> None:
    """Raise CliError when the table has no row for the job of `upload` yet: it is still waiting."""
    item = dynamodb.get_item(
        TableName=table,
        Key={Attr.UUID: {"S": job_id}},
        ProjectionExpression="#uuid",
        ExpressionAttributeNames={"#uuid": Attr.UUID},
        ConsistentRead=True,
    ).get("Item")
    if item is None:
        raise CliError(
            f"{upload} is uploaded but its job {job_id} is not in table {table}",
            "Either the scheduler has not taken the upload yet (it waits in the flock's queue; try again "
            "shortly) or the job ended and left the table after its TTL",
        )


def resolve_job_id(
    name: str, *, dynamodb: DynamoDBClient, table: str, s3: S3Client, bucket: str | None
) -> str:
    """Return the job UUID `name` stands for: itself if a UUID (or a manifest key), else its upload's job.

    A key names the job of its object's current version (a key uploaded again names the newest job);
    without a known bucket, or for an unversioned or deleted object, the table is scanned for the key.
    """
    if is_job_uuid(name):
        return name.lower()
    if is_manifest_key(name):
        return name
    bucket, key = _split(name, bucket)
    version = _current_version(s3, bucket, key) if bucket else None
    if bucket and version:
        job_id = job_id_for_s3_object(bucket, key, version_id=version)
        _require_row(dynamodb, table, job_id, f"s3://{bucket}/{key}")
        return job_id
    found = _scan_for_key(dynamodb, table, key)
    if found is None:
        where = f", bucket {bucket} has no such key," if bucket and version == "" else ""
        raise CliError(
            f"no job {name!r}: it is not a job UUID{where} and no job of table {table} was made from "
            "a zip of that key",
            "Give a job UUID (see the record `shepard batch --many` wrote, or `shepard query`) "
            "or the key of an uploaded zip, such as 3f2c9a1e-....zip",
        )
    return found
