import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shepard_core import is_valid_batch_job_name, job_id_for_api_request, job_id_for_s3_object


class TestJobIdForS3Object:
    def test_deterministic(self):
        """The same object identity always gives the same job id."""
        a = job_id_for_s3_object("b", "k.zip", etag='"abc"')
        assert a == job_id_for_s3_object("b", "k.zip", etag="abc")
        assert uuid.UUID(a).version == 5

    def test_identity_parts_matter(self):
        """Bucket, key, ETag, sequencer and version id each change the job id."""
        base = job_id_for_s3_object("b", "k", etag="e")
        others = {
            job_id_for_s3_object("b2", "k", etag="e"),
            job_id_for_s3_object("b", "k2", etag="e"),
            job_id_for_s3_object("b", "k", etag="e2"),
            job_id_for_s3_object("b", "k", etag="e", sequencer="0055"),
            job_id_for_s3_object("b", "k", version_id="v1"),
        }
        assert base not in others
        assert len(others) == 5

    def test_version_id_wins_over_etag(self):
        """In a versioned bucket the version id alone identifies the object."""
        assert job_id_for_s3_object("b", "k", version_id="v", etag="x") == job_id_for_s3_object(
            "b", "k", version_id="v", etag="y"
        )

    def test_null_version_falls_back_to_etag(self):
        """S3's "null" version id (unversioned bucket) does not identify an object."""
        assert job_id_for_s3_object("b", "k", version_id="null", etag="e") == job_id_for_s3_object(
            "b", "k", etag="e"
        )

    def test_needs_identity(self):
        """An object with neither version id nor ETag cannot be identified."""
        with pytest.raises(ValueError, match="version id or an ETag"):
            job_id_for_s3_object("b", "k")

    @given(st.text(min_size=1), st.text(min_size=1), st.text(min_size=1))
    def test_always_a_valid_batch_job_name(self, bucket, key, etag):
        """Whatever the key, the job id is a valid AWS Batch job name."""
        assert is_valid_batch_job_name(job_id_for_s3_object(bucket, key, etag=etag))


class TestJobIdForApiRequest:
    def test_deterministic_and_distinct(self):
        """A request id maps to one job id, distinct from other requests and from S3 objects."""
        assert job_id_for_api_request("r1") == job_id_for_api_request("r1")
        assert job_id_for_api_request("r1") != job_id_for_api_request("r2")

    def test_needs_request_id(self):
        """An empty request id is refused."""
        with pytest.raises(ValueError, match="request id"):
            job_id_for_api_request("")


class TestBatchJobName:
    @pytest.mark.parametrize("name", ["a", "A-b_9", "x" * 128])
    def test_valid(self, name):
        """Names of 1-128 allowed characters starting alphanumeric are valid."""
        assert is_valid_batch_job_name(name)

    @pytest.mark.parametrize("name", ["", "-a", "a b", "a.b", "x" * 129])
    def test_invalid(self, name):
        """Empty, over-long, or names with other characters are invalid."""
        assert not is_valid_batch_job_name(name)
