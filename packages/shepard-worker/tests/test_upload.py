"""upload_stream puts what a writer writes into one S3 object: one PUT when small, parallel parts if large."""

from __future__ import annotations

import os

import pytest
from botocore.exceptions import ClientError
from shepard_worker._upload import upload_stream

MIB = 1024 * 1024


def _writes(data: bytes, step: int = 1_000_003):
    """Return a writer that writes `data` in pieces of `step` bytes and returns its length."""

    def write(sink) -> int:
        for start in range(0, len(data), step):
            sink.write(data[start : start + step])
        return len(data)

    return write


class TestUploadStream:
    def test_small_objects_go_up_in_one_put(self, flock) -> None:
        """Less than one part of data is uploaded with a single PutObject."""
        result, size = upload_stream(flock.s3, flock.OUTPUTS, "small", 5 * MIB, _writes(b"hello"))
        head = flock.s3.head_object(Bucket=flock.OUTPUTS, Key="small")
        assert (result, size) == (5, 5)
        assert "-" not in head["ETag"]
        assert flock.s3.get_object(Bucket=flock.OUTPUTS, Key="small")["Body"].read() == b"hello"

    @pytest.mark.parametrize("step", [1_000_003, 5 * MIB, 7 * MIB + 1])
    def test_large_objects_go_up_in_parts_in_order(self, flock, step: int) -> None:
        """Data larger than a part is uploaded as ordered 5 MiB parts and reassembles byte for byte."""
        data = os.urandom(12 * MIB + 123)
        _, size = upload_stream(flock.s3, flock.OUTPUTS, "large", 5 * MIB, _writes(data, step))
        head = flock.s3.head_object(Bucket=flock.OUTPUTS, Key="large")
        assert size == len(data)
        assert head["ETag"].strip('"').endswith("-3")
        assert flock.s3.get_object(Bucket=flock.OUTPUTS, Key="large")["Body"].read() == data

    @pytest.mark.parametrize("written", [0, 3 * MIB, 11 * MIB])
    def test_a_failing_writer_leaves_no_object(self, flock, written: int) -> None:
        """The writer's exception reaches the caller; no object and no unfinished multipart upload remain."""

        def write(sink) -> None:
            sink.write(os.urandom(written))
            raise OSError("disk gone")

        with pytest.raises(OSError, match="disk gone"):
            upload_stream(flock.s3, flock.OUTPUTS, "aborted", 5 * MIB, write)
        assert flock.keys(flock.OUTPUTS) == []
        assert flock.s3.list_multipart_uploads(Bucket=flock.OUTPUTS).get("Uploads", []) == []

    @pytest.mark.parametrize("written", [1, 12 * MIB])
    def test_an_upload_error_reaches_the_caller(self, flock, written: int) -> None:
        """A failing upload (here: no such bucket) surfaces as the S3 error, small or multipart."""
        with pytest.raises(ClientError, match="NoSuchBucket"):
            upload_stream(flock.s3, "no-such-bucket", "k", 5 * MIB, _writes(os.urandom(written)))
