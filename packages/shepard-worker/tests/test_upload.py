"""S3Writer streams bytes into one S3 object: one PUT when small, a multipart upload when large."""

from __future__ import annotations

import os

import pytest
from botocore.exceptions import ClientError
from shepard_worker import S3Writer

MIB = 1024 * 1024


class TestS3Writer:
    def test_small_objects_go_up_in_one_put(self, flock) -> None:
        """Less than one part of data is uploaded with a single PutObject."""
        with S3Writer(flock.s3, flock.OUTPUTS, "small", 5 * MIB) as writer:
            writer.write(b"hello")
        head = flock.s3.head_object(Bucket=flock.OUTPUTS, Key="small")
        assert "-" not in head["ETag"]
        assert flock.s3.get_object(Bucket=flock.OUTPUTS, Key="small")["Body"].read() == b"hello"

    def test_large_objects_go_up_in_parts_in_order(self, flock) -> None:
        """Data larger than a part is uploaded as ordered parts and reassembles byte for byte."""
        data = os.urandom(12 * MIB + 123)
        with S3Writer(flock.s3, flock.OUTPUTS, "large", 5 * MIB) as writer:
            for start in range(0, len(data), 1_000_003):
                writer.write(data[start : start + 1_000_003])
            assert writer.tell() == len(data)
        head = flock.s3.head_object(Bucket=flock.OUTPUTS, Key="large")
        assert head["ETag"].strip('"').endswith("-3")
        assert flock.s3.get_object(Bucket=flock.OUTPUTS, Key="large")["Body"].read() == data

    def test_an_exception_inside_the_block_leaves_no_object(self, flock) -> None:
        """Leaving the writer's block by an exception aborts the multipart upload; no object appears."""
        writer = S3Writer(flock.s3, flock.OUTPUTS, "aborted", 5 * MIB)
        writer.write(os.urandom(11 * MIB))
        writer.__exit__(RuntimeError, RuntimeError(), None)
        assert flock.keys(flock.OUTPUTS) == []
        assert flock.s3.list_multipart_uploads(Bucket=flock.OUTPUTS).get("Uploads", []) == []

    def test_an_upload_error_reaches_the_writer(self, flock) -> None:
        """A failing part upload (here: no such bucket) surfaces as the S3 error."""
        with (
            pytest.raises(ClientError, match="NoSuchBucket"),
            S3Writer(flock.s3, "no-such-bucket", "k", 5 * MIB) as writer,
        ):
            writer.write(os.urandom(6 * MIB))
