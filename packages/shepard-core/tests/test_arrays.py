"""Claim tokens, manifests and child ids: how an array child finds the one job it may run."""

import pytest
from shepard_core import (
    MAX_ARRAY_SIZE,
    Attr,
    JobRow,
    JobStatus,
    array_job_name,
    child_job_id,
    is_manifest_key,
    is_valid_batch_job_name,
    job_id_for_api_request,
    manifest_chunks,
    manifest_location,
    new_claim_token,
    parse_child_job_id,
)
from shepard_core._arrays import MANIFEST_CHUNK_SIZE


class TestManifest:
    @pytest.mark.parametrize("size", [1, 2, 999, 1_000, 1_001, 2_500, MAX_ARRAY_SIZE])
    def test_every_child_finds_its_job(self, size):
        """For any array size, the manifest item and position of child i hold job i."""
        token = new_claim_token()
        jobs = [job_id_for_api_request(f"r{i}") for i in range(size)]
        items = dict(manifest_chunks(token, jobs))
        for index in (0, size // 2, size - 1):
            key, position = manifest_location(token, index)
            assert items[key][position] == jobs[index]
        assert sum(len(ids) for ids in items.values()) == size

    def test_chunks_stay_small(self):
        """A full array needs ten manifest items, each well under DynamoDB's item limit."""
        jobs = [job_id_for_api_request(f"r{i}") for i in range(MAX_ARRAY_SIZE)]
        chunks = manifest_chunks(new_claim_token(), jobs)
        assert len(chunks) == MAX_ARRAY_SIZE // MANIFEST_CHUNK_SIZE
        assert max(sum(len(j) + 1 for j in ids) for _, ids in chunks) < 40_000

    def test_manifest_keys_never_look_like_job_ids(self):
        """A manifest item is told apart from a job row by its key alone."""
        key, _ = manifest_location(new_claim_token(), 5)
        assert is_manifest_key(key)
        assert not is_manifest_key(job_id_for_api_request("r"))

    def test_negative_index_is_refused(self):
        """A child index below zero names no child."""
        with pytest.raises(ValueError, match="at least 0"):
            manifest_location(new_claim_token(), -1)


class TestNames:
    def test_tokens_are_unique_and_make_valid_job_names(self):
        """Each claim token is new, and the job name built from it is one Batch accepts."""
        tokens = {new_claim_token() for _ in range(100)}
        assert len(tokens) == 100
        assert all(is_valid_batch_job_name(array_job_name(t)) for t in tokens)

    @pytest.mark.parametrize(
        ("job_id", "expected"),
        [
            ("8f1e-abc:0", ("8f1e-abc", 0)),
            ("8f1e-abc:9999", ("8f1e-abc", 9999)),
            ("8f1e-abc", ("8f1e-abc", None)),
            ("weird:id:x", ("weird:id:x", None)),
        ],
    )
    def test_child_ids_round_trip(self, job_id, expected):
        """A child's id splits into its array's id and its index; a plain job's id has no index."""
        assert parse_child_job_id(job_id) == expected
        if expected[1] is not None:
            assert child_job_id(*expected) == job_id


class TestRowClaim:
    def test_claim_and_index_round_trip_through_the_item(self):
        """A row's claim token and array index survive the trip through DynamoDB's item form."""
        row = JobRow(
            uuid=job_id_for_api_request("r"),
            status=JobStatus.NOT_YET_INITIATED,
            inputs={"A": "1"},
            input_zip_name="a.zip",
            is_invoked=False,
            end_time=1,
            array_claim="t" * 32,
            array_index=7,
        )
        item = row.to_item()
        assert item[Attr.ARRAY_INDEX] == {"N": "7"}
        assert JobRow.from_item(item) == row
