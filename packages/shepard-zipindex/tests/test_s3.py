import os

import boto3
import pytest
from shepard_zipindex import (
    CountingRangeReader,
    NotAZipError,
    ObjectChangedError,
    ObjectNotFoundError,
    S3RangeReader,
    ZipIndex,
)


@pytest.fixture
def s3(aws_endpoint):
    client = boto3.client("s3", endpoint_url=aws_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="inputs")
    return client


class TestS3RangeReader:
    def test_suffix_read_learns_size_from_content_range(self, s3):
        """A suffix GET returns the tail and the size parsed from Content-Range."""
        s3.put_object(Bucket="inputs", Key="blob", Body=b"0123456789" * 10)
        assert S3RangeReader(s3, "inputs", "blob").read_suffix(5) == (b"56789", 100)

    def test_suffix_longer_than_object_returns_all(self, s3):
        """A suffix longer than the object returns the whole object and its size."""
        s3.put_object(Bucket="inputs", Key="blob", Body=b"abc")
        assert S3RangeReader(s3, "inputs", "blob").read_suffix(65536) == (b"abc", 3)

    def test_empty_object_answers_416_as_empty(self, s3):
        """S3's 416 for a suffix of an empty object becomes zero bytes of a zero-size blob."""
        s3.put_object(Bucket="inputs", Key="empty", Body=b"")
        assert S3RangeReader(s3, "inputs", "empty").read_suffix(65536) == (b"", 0)

    def test_range_read_returns_exact_bytes(self, s3):
        """read_range returns bytes [start, end) of the object."""
        s3.put_object(Bucket="inputs", Key="blob", Body=b"0123456789")
        reader = S3RangeReader(s3, "inputs", "blob")
        reader.read_suffix(2)
        assert reader.read_range(2, 5) == b"234"

    def test_missing_key_raises_object_not_found(self, s3):
        """A missing key raises ObjectNotFoundError naming the object."""
        with pytest.raises(ObjectNotFoundError, match=r"s3://inputs/nope\.zip"):
            S3RangeReader(s3, "inputs", "nope.zip").read_suffix(10)

    def test_job_zip_costs_two_gets(self, s3, make_zip):
        """A job zip larger than the suffix is indexed and read with two GETs and no HEAD."""
        data = make_zip({"job/inputs.txt": b'{"k": "v"}', "job/blob": os.urandom(200_000)}, compression=0)
        s3.put_object(Bucket="inputs", Key="job.zip", Body=data)
        calls = []
        s3.meta.events.register("before-call.s3", lambda model, **_: calls.append(model.name))
        reader = CountingRangeReader(S3RangeReader(s3, "inputs", "job.zip"))
        index = ZipIndex.open(reader)
        assert index.read(index.find_inputs()) == b'{"k": "v"}'
        assert calls == ["GetObject", "GetObject"]

    def test_replaced_object_is_detected(self, s3):
        """An object overwritten between two reads raises ObjectChangedError instead of mixing versions."""
        s3.put_object(Bucket="inputs", Key="blob", Body=b"first version of the object")
        reader = S3RangeReader(s3, "inputs", "blob")
        reader.read_suffix(4)
        s3.put_object(Bucket="inputs", Key="blob", Body=b"second version, a different one")
        with pytest.raises(ObjectChangedError, match="replaced while it was being read"):
            reader.read_range(0, 4)

    def test_version_id_pins_the_read(self, s3):
        """With a version id, the reader reads that version even after the key is overwritten."""
        s3.put_bucket_versioning(Bucket="inputs", VersioningConfiguration={"Status": "Enabled"})
        version = s3.put_object(Bucket="inputs", Key="blob", Body=b"old bytes")["VersionId"]
        s3.put_object(Bucket="inputs", Key="blob", Body=b"new bytes!")
        assert S3RangeReader(s3, "inputs", "blob", version_id=version).read_suffix(100) == (b"old bytes", 9)

    def test_empty_object_is_not_a_zip(self, s3):
        """An empty object in S3 raises NotAZipError after a single GET."""
        s3.put_object(Bucket="inputs", Key="empty.zip", Body=b"")
        with pytest.raises(NotAZipError, match="empty"):
            ZipIndex.open(S3RangeReader(s3, "inputs", "empty.zip"))
