"""Read the S3 objects an SQS message's S3 event notification names."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import TYPE_CHECKING, Final
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import S3Event

from shepard_scheduler._core import S3ObjectRef
from shepard_scheduler._outcome import MalformedMessageError

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes import SQSRecord

TEST_EVENT: Final = "s3:TestEvent"
_CREATED_PREFIX: Final = "ObjectCreated:"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Notice:
    """One S3 event record: the object it names, or why it names no job."""

    ref: S3ObjectRef | None
    event_name: str
    skip_reason: str | None = None
    event_time: float | None = None
    """When S3 saw the upload (the record's eventTime, epoch seconds), if the record says."""


def _epoch_seconds(text: object) -> float | None:
    """Return an ISO 8601 time (S3's eventTime) in epoch seconds, or None if it is not one."""
    if not isinstance(text, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def read_notices(record: SQSRecord) -> list[Notice]:
    """Return the S3 event records of one SQS message; raise MalformedMessageError if it holds none."""
    try:
        body = json.loads(record.body)
    except (TypeError, ValueError) as exc:
        raise MalformedMessageError(f"message {record.message_id} is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise MalformedMessageError(f"message {record.message_id} is not an S3 event notification")
    if body.get("Event") == TEST_EVENT:
        return [Notice(ref=None, event_name=TEST_EVENT, skip_reason="S3 test event")]
    if not isinstance(body.get("Records"), list):
        raise MalformedMessageError(f"message {record.message_id} is not an S3 event notification")
    notices = []
    for s3_record in S3Event(body).records:
        try:
            event_name = s3_record.event_name
            s3 = s3_record.s3
            bucket = s3.bucket.name
            obj = s3.get_object
            ref = S3ObjectRef(
                bucket=bucket,
                key=unquote_plus(obj.key),
                etag=obj.etag or None,
                version_id=obj.version_id or None,
                sequencer=obj.get("sequencer") or None,
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise MalformedMessageError(
                f"message {record.message_id} holds an S3 record without {exc}"
            ) from None
        event_time = _epoch_seconds(s3_record.get("eventTime"))
        if not event_name.startswith(_CREATED_PREFIX):
            notices.append(Notice(ref=ref, event_name=event_name, skip_reason="not an object creation"))
        elif ref.key.endswith("/"):
            notices.append(Notice(ref=ref, event_name=event_name, skip_reason="a folder placeholder"))
        else:
            notices.append(Notice(ref=ref, event_name=event_name, event_time=event_time))
    return notices
