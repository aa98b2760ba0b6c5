"""The events AWS hands a Lambda function: S3 notification records and SQS event-source records.

The event an SQS event source mapping builds from ReceiveMessage's messages is shepard-flock's (the local
flock builds it the same way): `sqs_event_from_messages` is re-exported from there.
"""

from __future__ import annotations

import hashlib
import json
import urllib.parse
import uuid
from typing import TYPE_CHECKING, Any

from shepard_flock import sqs_event_from_messages

from shepard_testing._environment import ACCOUNT, REGION

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "DEFAULT_QUEUE_ARN",
    "s3_notification",
    "s3_record",
    "s3_test_event",
    "sqs_event",
    "sqs_event_from_messages",
    "sqs_record",
]

DEFAULT_QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:shepard-scheduler-queue"
EMPTY_ETAG = "d41d8cd98f00b204e9800998ecf8427e"


def s3_record(  # noqa: PLR0913 - one keyword per field a test may pin
    bucket: str,
    key: str,
    *,
    size: int = 0,
    etag: str = EMPTY_ETAG,
    version_id: str | None = None,
    event_name: str = "ObjectCreated:Put",
    event_time: str = "2026-11-24T21:00:00.000Z",
    sequencer: str = "0055AED6DCD90281E5",
    region: str = REGION,
    configuration_id: str = "shepard-inputs-created",
) -> dict[str, Any]:
    """Return one S3 event notification record, with `key` URL-encoded as S3 sends it (spaces as "+")."""
    s3_object: dict[str, Any] = {"key": urllib.parse.quote_plus(key, safe="/"), "size": size, "eTag": etag}
    if version_id is not None:
        s3_object["versionId"] = version_id
    s3_object["sequencer"] = sequencer
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": event_time,
        "eventName": event_name,
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLEPRINCIPAL"},
        "requestParameters": {"sourceIPAddress": "203.0.113.10"},
        "responseElements": {
            "x-amz-request-id": "C3D13FE58DE4C810",
            "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD",
        },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": "A3NL1KOZZKEXAMPLE"},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": s3_object,
        },
    }


def s3_notification(*records: Mapping[str, Any]) -> dict[str, Any]:
    """Return the S3 notification message holding `records` (the body S3 puts on an SQS queue)."""
    return {"Records": [dict(record) for record in records]}


def s3_test_event(bucket: str) -> dict[str, Any]:
    """Return the `s3:TestEvent` message S3 sends once when a notification is configured."""
    return {
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": "2026-11-24T21:00:00.000Z",
        "Bucket": bucket,
        "RequestId": "5582815E1AEA5ADF",
        "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE",
    }


def sqs_record(
    body: str | Mapping[str, Any],
    *,
    receive_count: int = 1,
    message_id: str | None = None,
    queue_arn: str = DEFAULT_QUEUE_ARN,
) -> dict[str, Any]:
    """Return one record of an SQS Lambda event carrying `body` (a mapping is JSON-encoded)."""
    text = body if isinstance(body, str) else json.dumps(dict(body))
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": f"AQEB{uuid.uuid4().hex}",
        "body": text,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": "1795557800991",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1795557800998",
        },
        "messageAttributes": {},
        "md5OfBody": _md5(text),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": queue_arn.split(":")[3],
    }


def sqs_event(
    *bodies: str | Mapping[str, Any], receive_count: int = 1, queue_arn: str = DEFAULT_QUEUE_ARN
) -> dict[str, Any]:
    """Return an SQS Lambda event whose records carry `bodies`, in order."""
    return {
        "Records": [sqs_record(body, receive_count=receive_count, queue_arn=queue_arn) for body in bodies]
    }


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()
