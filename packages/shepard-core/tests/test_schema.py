from datetime import UTC, datetime

import pytest
from shepard_core import Attr, JobRow, JobStatus, ttl_after_days
from shepard_core._schema import is_row_attribute


def _row(**changes):
    values = {
        "uuid": "u-1",
        "status": JobStatus.SUBMITTED,
        "inputs": {"test": "x", "TAG": "t"},
        "input_zip_name": "job.zip",
        "is_invoked": False,
        "end_time": 1_800_000_000,
        "batch_job_id": "b-1",
    }
    values.update(changes)
    return JobRow(**values)


class TestJobRow:
    def test_item_shape(self):
        """The item keys the row by UUID, keeps inputs as top-level strings and END_TIME as a number."""
        item = _row().to_item()
        assert item["UUID"] == {"S": "u-1"}
        assert item["test"] == {"S": "x"}
        assert item["END_TIME"] == {"N": "1800000000"}
        assert item["IS_INVOKED"] == {"S": "False"}
        assert item[Attr.BATCH_JOB_ID] == {"S": "b-1"}
        assert Attr.REJECTION_REASON not in item

    def test_round_trip(self):
        """A row survives to_item and from_item unchanged."""
        row = _row(attempt=2, exit_code=3, rejection_reason=None, start_time="T")
        assert JobRow.from_item(row.to_item()) == row

    def test_the_upload_s_version_is_kept_and_is_not_an_input(self):
        """A row made from a versioned upload names that version; it is Shepard's attribute, not an input."""
        row = _row(input_zip_version="3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo")
        item = row.to_item()
        assert item[Attr.INPUT_ZIP_VERSION] == {"S": row.input_zip_version}
        assert is_row_attribute(Attr.INPUT_ZIP_VERSION)
        assert JobRow.from_item(item) == row
        assert Attr.INPUT_ZIP_VERSION not in _row().to_item()

    def test_a_failure_batch_recorded_round_trips_and_is_the_row_s_reason(self):
        """Batch's failure reason and the end event it came from survive a round trip and are not inputs."""
        row = _row(
            status=JobStatus.JOB_FAILED,
            failure_reason="AWS Batch ended the job: Host EC2 (instance i-1) terminated.",
            batch_end="b-1#3",
            exit_code=137,
        )
        item = row.to_item()
        assert item[Attr.FAILURE_REASON] == {"S": row.failure_reason}
        assert item[Attr.BATCH_END] == {"S": "b-1#3"}
        assert is_row_attribute(Attr.FAILURE_REASON)
        assert is_row_attribute(Attr.BATCH_END)
        assert JobRow.from_item(item) == row
        assert row.reason == row.failure_reason
        assert _row(rejection_reason="bad key").reason == "bad key"
        assert _row().reason is None

    def test_from_item_needs_key_and_status(self):
        """An item without UUID or JOB_STATUS is not a job row."""
        with pytest.raises(ValueError, match="UUID and JOB_STATUS"):
            JobRow.from_item({"UUID": {"S": "x"}})

    def test_row_attributes(self):
        """Shepard's own attributes are told apart from user inputs."""
        assert is_row_attribute("UUID")
        assert is_row_attribute(Attr.SUBMIT_TIME)
        assert not is_row_attribute("test")


class TestTtl:
    def test_days_ahead(self):
        """The TTL is the epoch second `days` after now."""
        now = datetime(2026, 1, 1, tzinfo=UTC)
        assert ttl_after_days(2, now) - int(now.timestamp()) == 2 * 86400
