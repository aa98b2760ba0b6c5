"""The event builders make the shapes AWS sends, as the committed sample events show them."""

from __future__ import annotations

import hashlib
import json

from shepard_testing import (
    s3_notification,
    s3_record,
    s3_test_event,
    sqs_event,
    sqs_event_from_messages,
    sqs_record,
)


def _shape(value):
    """Return the nested key structure of `value`, leaves replaced by their type."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(item) for item in value]
    return type(value).__name__


class TestS3Record:
    def test_sample_values_rebuild_the_sample(self, sample):
        """Given the sample's values, the builder returns the committed real S3 notification byte for byte."""
        # GIVEN a real S3 notification and the values it carries
        expected = sample("s3_put")
        obj = expected["Records"][0]["s3"]["object"]
        # WHEN the builder is given those values (the key decoded, as a user names it)
        built = s3_notification(
            s3_record(
                "shepard-inputs",
                "batches/my job (1).zip",
                size=obj["size"],
                etag=obj["eTag"],
                version_id=obj["versionId"],
                sequencer=obj["sequencer"],
            )
        )
        # THEN it is the sample, key encoding included
        assert built == expected

    def test_key_is_url_encoded_like_s3(self):
        """Spaces become "+" and reserved characters are percent-encoded; slashes stay."""
        record = s3_record("b", "a dir/x+y&z.zip")
        assert record["s3"]["object"]["key"] == "a+dir/x%2By%26z.zip"

    def test_unversioned_object_has_no_version_id(self, sample):
        """Without a version id the object has the sample's fields except versionId."""
        record = s3_record("shepard-inputs", "k.zip")
        sample_object = sample("s3_put")["Records"][0]["s3"]["object"]
        assert set(record["s3"]["object"]) == set(sample_object) - {"versionId"}

    def test_test_event_names_the_bucket(self, sample):
        """The test event carries every field of the sample test event, for the bucket named."""
        event = s3_test_event("shepard-inputs")
        expected = sample("s3_test_event")
        assert set(expected) <= set(event)
        assert {key: event[key] for key in ("Service", "Event", "Bucket")} == {
            key: expected[key] for key in ("Service", "Event", "Bucket")
        }


class TestSqsRecords:
    def test_record_has_the_sample_shape(self, sample):
        """A built record has exactly the sample SQS record's keys and value types."""
        expected = sample("sqs_event")["Records"][0]
        assert _shape(sqs_record("hello")) == _shape(expected)

    def test_mapping_bodies_are_json_and_order_is_kept(self):
        """Mappings become JSON bodies, strings stay as they are, in the order given."""
        event = sqs_event({"a": 1}, "plain")
        assert [record["body"] for record in event["Records"]] == ['{"a": 1}', "plain"]

    def test_records_differ_and_count_receives(self):
        """Each record gets its own message id, the receive count asked for and its body's MD5."""
        first, second = sqs_event("x", "y", receive_count=3)["Records"]
        assert first["messageId"] != second["messageId"]
        assert first["attributes"]["ApproximateReceiveCount"] == "3"
        assert first["md5OfBody"] == hashlib.md5(b"x", usedforsecurity=False).hexdigest()

    def test_region_comes_from_the_queue_arn(self):
        """The record's region is the one in the queue ARN."""
        record = sqs_record("x", queue_arn="arn:aws:sqs:eu-west-1:111122223333:q")
        assert (record["awsRegion"], record["eventSourceARN"]) == (
            "eu-west-1",
            "arn:aws:sqs:eu-west-1:111122223333:q",
        )

    def test_received_messages_become_records(self, sample):
        """ReceiveMessage's messages map to records with the sample's keys, ids and bodies kept."""
        message = {
            "MessageId": "m-1",
            "ReceiptHandle": "r-1",
            "Body": json.dumps({"k": "v"}),
            "Attributes": {"ApproximateReceiveCount": "2"},
            "MD5OfBody": "abc",
        }
        [record] = sqs_event_from_messages([message], queue_arn="arn:aws:sqs:us-east-1:1:q")["Records"]
        assert set(record) == set(sample("sqs_event")["Records"][0])
        assert (record["messageId"], record["receiptHandle"], record["body"]) == ("m-1", "r-1", '{"k": "v"}')
        assert record["attributes"] == {"ApproximateReceiveCount": "2"}
