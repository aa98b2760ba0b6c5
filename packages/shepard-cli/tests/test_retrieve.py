"""retrieve: syncing the outputs bucket into a local folder."""

import threading

import pytest
from shepard_cli import _retrieve
from shepard_cli._errors import CliError


class TestRetrieve:
    def _put(self, flock, key, body):
        flock.client("s3").put_object(Bucket=flock.outputs_bucket, Key=key, Body=body)

    def test_sync_fetches_only_new_or_changed(self, run, flock, tmp_path):
        """A second retrieve fetches nothing, and a changed object is fetched again."""
        target = tmp_path / "results"
        self._put(flock, "result@u1_2026-01-01T00-00-00Z_root.zip", b"one")
        self._put(flock, "TAG_result@u2_2026-01-01T00-00-00Z_efs.zip", b"two")
        first = run("retrieve", "--directory_to_sync_s3_bucket_to", str(target))
        assert first.exit_code == 0, first.output
        assert "2 fetched, 0 already up to date" in first.output
        assert (target / "result@u1_2026-01-01T00-00-00Z_root.zip").read_bytes() == b"one"
        second = run("retrieve", "--directory-to-sync-s3-bucket-to", str(target))
        assert "0 fetched, 2 already up to date" in second.output
        self._put(flock, "result@u1_2026-01-01T00-00-00Z_root.zip", b"changed")
        third = run("retrieve", "--directory-to-sync-s3-bucket-to", str(target))
        assert "1 fetched, 1 already up to date" in third.output
        assert (target / "result@u1_2026-01-01T00-00-00Z_root.zip").read_bytes() == b"changed"

    def test_job_option_fetches_one_jobs_outputs(self, run, flock, tmp_path):
        """--job fetches only the outputs of that job."""
        self._put(flock, "result@u1_2026-01-01T00-00-00Z_root.zip", b"one")
        self._put(flock, "TAG_result@u2_2026-01-01T00-00-00Z_root.zip", b"two")
        target = tmp_path / "results"
        result = run("retrieve", "--directory-to-sync-s3-bucket-to", str(target), "--job", "u2")
        assert result.exit_code == 0, result.output
        assert [p.name for p in target.iterdir()] == ["TAG_result@u2_2026-01-01T00-00-00Z_root.zip"]

    def test_many_objects_in_parallel(self, flock, tmp_path):
        """Many objects, nested keys included, all arrive with their bytes."""
        for i in range(30):
            self._put(flock, f"dir/{i}.zip", str(i).encode())
        result = _retrieve.sync(flock.client("s3"), flock.outputs_bucket, tmp_path, parallel=8)
        assert len(result.fetched) == 30
        assert all((tmp_path / "dir" / f"{i}.zip").read_bytes() == str(i).encode() for i in range(30))

    def test_downloads_run_at_the_same_time(self, flock, tmp_path, gate):
        """With parallel=4, four objects' downloads are in flight at once."""
        # GIVEN four objects and an S3 client whose GetObject calls wait until four run together
        for i in range(4):
            self._put(flock, f"result@u{i}_2026-01-01T00-00-00Z_root.zip", b"x" * i)
        s3 = flock.client("s3")
        together = threading.Barrier(4, timeout=20)
        s3.meta.events.register("before-call.s3.GetObject", gate(together))
        # WHEN the bucket is synced four at a time
        result = _retrieve.sync(s3, flock.outputs_bucket, tmp_path, parallel=4)
        # THEN every download got past the barrier, so they overlapped
        assert len(result.fetched) == 4

    def test_keys_escaping_the_folder_are_refused(self, tmp_path):
        """A key that would land outside the target folder is refused."""
        with pytest.raises(CliError, match="outside"):
            _retrieve.local_path(tmp_path, "../evil")
