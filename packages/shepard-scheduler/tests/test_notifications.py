"""read_notices: S3 event notifications inside SQS messages, in AWS's shape and moto's."""

from __future__ import annotations

import pytest
from aws_lambda_powertools.utilities.data_classes import SQSRecord
from shepard_scheduler._notifications import read_notices
from shepard_scheduler._outcome import MalformedMessageError


def _record(events, body):
    return SQSRecord(events.sqs(body)["Records"][0])


class TestReadNotices:
    def test_real_notification_gives_version_and_sequencer(self, events):
        """AWS's shape yields the decoded key, version id, ETag and sequencer."""
        [notice] = read_notices(_record(events, events.load("s3_put_real")))
        assert notice.skip_reason is None
        assert notice.ref is not None
        assert notice.ref.bucket == "shepard-inputs"
        assert notice.ref.key == "batches/my job (1).zip"
        assert notice.ref.version_id == "096fKKXTRTtl3on89fVO.nfljtsv6qko"
        assert notice.ref.sequencer == "0055AED6DCD90281E5"
        assert notice.ref.etag == "d41d8cd98f00b204e9800998ecf8427e"

    def test_moto_notification_key_is_unquoted(self, events):
        """Moto's shape (no version, no sequencer, quote_plus-encoded key) yields the real key."""
        [notice] = read_notices(_record(events, events.load("s3_put_moto")))
        assert notice.ref is not None
        assert notice.ref.key == "batches/my job (1)+x.zip"
        assert (notice.ref.version_id, notice.ref.sequencer) == (None, None)

    def test_job_id_depends_on_object_identity(self, events):
        """The same notification always gives the same job id; another ETag gives another."""
        body = events.load("s3_put_moto")
        [first] = read_notices(_record(events, body))
        [again] = read_notices(_record(events, body))
        body["Records"][0]["s3"]["object"]["eTag"] = "0" * 32
        [other] = read_notices(_record(events, body))
        assert first.ref is not None
        assert again.ref is not None
        assert other.ref is not None
        assert first.ref.job_id == again.ref.job_id != other.ref.job_id

    def test_test_event_is_skipped(self, events):
        """S3's test event yields one notice to skip."""
        [notice] = read_notices(_record(events, events.load("s3_test_event")))
        assert (notice.ref, notice.skip_reason) == (None, "S3 test event")

    def test_deletion_is_skipped(self, events):
        """An ObjectRemoved record yields a notice to skip."""
        [notice] = read_notices(_record(events, events.load("s3_delete_real")))
        assert notice.skip_reason == "not an object creation"

    def test_folder_placeholder_is_skipped(self, events):
        """A key ending in a slash (a console folder) yields a notice to skip."""
        body = events.load("s3_put_real")
        body["Records"][0]["s3"]["object"]["key"] = "batches%2F"
        [notice] = read_notices(_record(events, body))
        assert notice.skip_reason == "a folder placeholder"

    @pytest.mark.parametrize("body", ["not json", "[1]", '{"Records": "x"}', '{"Records": [{"s3": {}}]}'])
    def test_malformed_message_raises(self, events, body):
        """A message that is not an S3 event notification raises MalformedMessageError."""
        with pytest.raises(MalformedMessageError):
            read_notices(_record(events, body))
