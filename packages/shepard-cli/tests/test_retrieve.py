"""retrieve: syncing the outputs bucket into a local folder."""

import os
import threading

import pytest
from shepard_cli import _retrieve


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


def _tree(folder):
    """Return every path under `folder` (links not followed), relative, as text."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


class TestKeyParts:
    @pytest.mark.parametrize(
        ("key", "parts"),
        [
            ("a/b", ("a", "b")),
            ("a//b", ("a", "b")),
            ("./a", ("a",)),
            ("/abs", ("abs",)),
            ("x/../y", ("y",)),
            ("a\\b", ("a\\b",) if os.sep == "/" else ("a", "b")),
            ("n" * 255, ("n" * 255,)),
        ],
    )
    def test_keys_inside_the_folder_map_to_their_names(self, key, parts):
        """A key that stays inside the folder maps to its names with empty, `.` and `..` names resolved."""
        assert _retrieve.key_parts(key) == parts

    @pytest.mark.parametrize(
        ("key", "why"),
        [
            ("..", "above the folder"),
            ("../evil", "above the folder"),
            ("a/../../evil", "above the folder"),
            ("x/..", "the folder itself"),
            (".", "the folder itself"),
            ("//", "the folder itself"),
            ("n" * 256, "longer than the 255 bytes"),
            ("d/" + "é" * 128, "longer than the 255 bytes"),
            ("a\0b", "NUL"),
        ],
    )
    def test_keys_at_or_above_the_folder_are_skipped(self, key, why):
        """A key that resolves to the folder or above, or names what no file system holds, is skipped."""
        with pytest.raises(_retrieve.SkipKeyError, match=why):
            _retrieve.key_parts(key)


class TestRetrieveStaysInside:
    def _put(self, flock, key, body=None):
        flock.client("s3").put_object(Bucket=flock.outputs_bucket, Key=key, Body=body or key.encode())

    def _retrieve(self, run, target):
        return run("retrieve", "--directory-to-sync-s3-bucket-to", str(target))

    def test_hostile_keys_are_skipped_and_the_rest_fetched(self, run, flock, tmp_path):
        """Keys at or above the folder are skipped with one warning line each; nothing lands outside it."""
        # GIVEN an outputs bucket with keys that resolve outside the folder beside ordinary ones
        hostile = ["..", "x/..", "a/../..", "n" * 300]
        fine = {"/abs": "abs", "./dot": "dot", "a//b": "a/b", "x/../y": "y", "ok.zip": "ok.zip"}
        for key in [*hostile, *fine]:
            self._put(flock, key)
        target = tmp_path / "box" / "results"
        # WHEN the bucket is retrieved, twice
        first = self._retrieve(run, target)
        second = self._retrieve(run, target)
        # THEN every hostile key is named once per run on its own line and the others are fetched inside
        assert first.exit_code == 0, first.output
        warnings = [line for line in first.stderr.splitlines() if line.startswith("Warning:")]
        assert len(warnings) == len(hostile) == len(first.stderr.splitlines())
        for key in hostile:
            assert sum(repr(key) in line for line in warnings) == 1, key
        assert f"{len(fine)} fetched, 0 already up to date, {len(hostile)} skipped" in first.stdout
        for key, where in fine.items():
            assert (target / where).read_bytes() == key.encode()
        inside = ["a", "a/b", "abs", "dot", "ok.zip", "y"]
        assert _tree(tmp_path / "box") == ["results", *(f"results/{p}" for p in inside)]
        assert second.exit_code == 0, second.output
        assert f"0 fetched, {len(fine)} already up to date, {len(hostile)} skipped" in second.stdout

    def test_file_and_folder_keys_in_one_listing(self, run, flock, tmp_path):
        """Of `dup` and `dup/x` listed together, `dup` is fetched and `dup/x` skipped, run after run."""
        self._put(flock, "dup")
        self._put(flock, "dup/x")
        for _ in range(2):
            result = self._retrieve(run, tmp_path / "r")
            assert result.exit_code == 0, result.output
            assert "skipped key 'dup/x': it needs 'dup' as a folder" in result.stderr
        assert (tmp_path / "r" / "dup").read_bytes() == b"dup"

    def test_folder_first_then_file_key(self, run, flock, tmp_path):
        """A key `dup` arriving after `dup/x` was fetched as a folder is skipped; the folder stays."""
        self._put(flock, "dup/x")
        assert self._retrieve(run, tmp_path / "r").exit_code == 0
        self._put(flock, "dup")
        result = self._retrieve(run, tmp_path / "r")
        assert result.exit_code == 0, result.output
        assert "skipped key 'dup': it would replace the local folder 'dup'" in result.stderr
        assert (tmp_path / "r" / "dup" / "x").read_bytes() == b"dup/x"

    def test_file_first_then_folder_key(self, run, flock, tmp_path):
        """A key `dup/x` arriving after `dup` was fetched as a file is skipped; the file stays."""
        self._put(flock, "dup")
        assert self._retrieve(run, tmp_path / "r").exit_code == 0
        flock.client("s3").delete_object(Bucket=flock.outputs_bucket, Key="dup")
        self._put(flock, "dup/x")
        result = self._retrieve(run, tmp_path / "r")
        assert result.exit_code == 0, result.output
        assert "skipped key 'dup/x': it needs 'dup' as a folder, where a local file is" in result.stderr
        assert (tmp_path / "r" / "dup").read_bytes() == b"dup"

    def test_two_keys_for_one_file(self, run, flock, tmp_path):
        """Of `a/b` and `a//b`, the plainly written key gets the file and the other is skipped."""
        self._put(flock, "a//b")
        self._put(flock, "a/b")
        result = self._retrieve(run, tmp_path / "r")
        assert "skipped key 'a//b': it lands on the same file as key 'a/b'" in result.stderr
        assert (tmp_path / "r" / "a" / "b").read_bytes() == b"a/b"

    def test_a_local_link_is_never_written_through(self, run, flock, tmp_path):
        """A key under a local link to another folder is skipped, so nothing is written through the link."""
        outside = tmp_path / "outside"
        outside.mkdir()
        target = tmp_path / "results"
        target.mkdir()
        (target / "link").symlink_to(outside)
        self._put(flock, "link/f")
        self._put(flock, "link")
        result = self._retrieve(run, target)
        assert "skipped key 'link/f': it needs 'link' as a folder, where a local link is" in result.stderr
        assert "skipped key 'link': it would replace the local link 'link'" in result.stderr
        assert list(outside.iterdir()) == []

    def test_backslashes_long_names_and_partial_names(self, run, flock, tmp_path):
        """Backslashes, 255-byte names and names like partial files are ordinary file names."""
        keys = ["a\\b", "..\\x", "n" * 255, "x", ".x.shepard-partial", ".shepard-partial-abc"]
        for key in keys:
            self._put(flock, key)
        result = self._retrieve(run, tmp_path / "r")
        assert result.exit_code == 0, result.output
        assert result.stderr == ""
        for key in keys:
            assert (tmp_path / "r" / key).read_bytes() == key.encode()
        assert sorted(p.name for p in (tmp_path / "r").iterdir()) == sorted(keys)

    def test_a_failed_download_leaves_no_partial_file(self, flock, tmp_path):
        """When a download fails, its partial file is removed and the target is not created."""
        self._put(flock, "sub/out.zip")
        s3 = flock.client("s3")

        def fail(**_):
            raise RuntimeError("cut")

        s3.meta.events.register("before-call.s3.GetObject", fail)
        with pytest.raises(RuntimeError, match="cut"):
            _retrieve.sync(s3, flock.outputs_bucket, tmp_path / "r", parallel=1)
        assert _tree(tmp_path / "r") == ["sub"]
