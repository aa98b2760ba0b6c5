"""batch and links: links inside the job folder are followed; other links are refused before any upload."""

import io
import json
import zipfile

import pytest
from shepard_cli import _batch
from shepard_cli._errors import CliError
from shepard_cli._job_files import job_files


def _job(folder, **files):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "inputs.txt").write_text(json.dumps({"A": "1"}))
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


def _members(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


class TestLinksInside:
    def test_link_to_a_file_inside_is_zipped_as_the_file(self, tmp_path):
        """A link to a file of the folder is zipped, under the link's name, with the file's bytes."""
        folder = _job(tmp_path / "job", **{"data/real.txt": "real"})
        (folder / "alias.txt").symlink_to("data/real.txt")
        _batch.zip_job(_batch.read_job(folder), tmp_path / "out.zip")
        assert _members(tmp_path / "out.zip") == {
            "alias.txt": b"real",
            "data/real.txt": b"real",
            "inputs.txt": b'{"A": "1"}',
        }

    def test_link_to_a_folder_inside_is_zipped_as_the_folder(self, tmp_path):
        """A link to a folder of the folder is zipped as a folder of the same files under the link's name."""
        folder = _job(tmp_path / "job", **{"data/a": "a", "data/sub/b": "b"})
        (folder / "view").symlink_to(folder / "data")
        names = [f.name for f in job_files(folder)]
        assert names == ["data/a", "data/sub/b", "inputs.txt", "view/a", "view/sub/b"]

    def test_chain_of_links_staying_inside_is_followed(self, tmp_path):
        """A link to a link to a file of the folder is followed to that file."""
        folder = _job(tmp_path / "job", real="r")
        (folder / "one").symlink_to("real")
        (folder / "two").symlink_to("one")
        assert {f.name: f.source.read_text() for f in job_files(folder)}["two"] == "r"

    def test_job_folder_given_through_a_link(self, tmp_path):
        """A job folder named through a link is read as the folder it points to."""
        _job(tmp_path / "job", data="d")
        (tmp_path / "shortcut").symlink_to(tmp_path / "job")
        assert [f.name for f in job_files(tmp_path / "shortcut")] == ["data", "inputs.txt"]


class TestLinksRefused:
    @pytest.mark.parametrize(
        ("make", "why"),
        [
            (lambda job, _out: (job / "host").symlink_to("/etc/hostname"), "leaves the job folder"),
            (lambda job, out: (job / "dir").symlink_to(out), "leaves the job folder"),
            (lambda job, _out: (job / "up").symlink_to("../outside/secret"), "leaves the job folder"),
            (lambda job, _out: (job / "gone").symlink_to("missing"), "dangling"),
            (lambda job, _out: (job / "self").symlink_to("."), "link loop"),
            (lambda job, _out: (job / "data" / "back").symlink_to(".."), "link loop"),
            (lambda job, _out: (job / "ping").symlink_to("ping"), "link loop"),
            (
                lambda job, _out: ((job / "a").symlink_to("b"), (job / "b").symlink_to("a")),
                "link loop",
            ),
            (
                lambda job, _out: (
                    (job / "inner").symlink_to("data/out"),
                    (job / "data" / "out").symlink_to("/etc"),
                ),
                "leaves the job folder",
            ),
        ],
        ids=[
            "file-outside",
            "folder-outside",
            "relative-outside",
            "dangling",
            "self",
            "parent",
            "to-itself",
            "mutual",
            "chain-outside",
        ],
    )
    def test_every_kind_of_bad_link_is_refused(self, tmp_path, make, why):
        """A link that leaves the folder, dangles or loops is refused with why, before any zip is made."""
        outside = tmp_path / "outside"
        outside.mkdir()
        (outside / "secret").write_text("s")
        folder = _job(tmp_path / "job", **{"data/x": "x"})
        make(folder, outside)
        with pytest.raises(CliError, match=why) as caught:
            _batch.read_job(folder)
        assert "\n" not in str(caught.value)
        with pytest.raises(CliError, match=why):
            _batch.zip_job(_batch.JobSpec(folder), tmp_path / "out.zip")
        assert not (tmp_path / "out.zip").exists()

    def test_inputs_txt_leaving_the_folder_is_refused(self, tmp_path):
        """An inputs.txt that is a link out of the folder is refused, not read."""
        folder = tmp_path / "job"
        folder.mkdir()
        (tmp_path / "inputs.json").write_text("{}")
        (folder / "inputs.txt").symlink_to(tmp_path / "inputs.json")
        with pytest.raises(CliError, match=r"inputs\.txt -> .* \(leaves the job folder"):
            _batch.read_job(folder)

    def test_all_bad_links_are_named_in_one_message(self, tmp_path):
        """Every refused link of a folder is named in the one message, with the policy."""
        folder = _job(tmp_path / "job")
        (folder / "host").symlink_to("/etc/hostname")
        (folder / "gone").symlink_to("missing")
        (folder / "self").symlink_to(".")
        with pytest.raises(CliError) as caught:
            job_files(folder)
        message = str(caught.value)
        assert "has 3 link(s) shepard batch does not follow" in message
        for shown in ("gone -> missing (dangling", "host -> /etc/hostname (leaves", "self -> . (a link loop"):
            assert shown in message
        assert "Links inside the job folder are followed" in message


class TestBatchCommandWithLinks:
    def test_bad_link_uploads_nothing(self, run, flock, tmp_path):
        """Batch of a folder with a link to /etc/hostname exits 1 in one line and uploads nothing."""
        folder = _job(tmp_path / "job")
        (folder / "host").symlink_to("/etc/hostname")
        result = run("batch", str(folder))
        assert result.exit_code == 1
        assert result.output.count("\n") == 1
        assert "host -> /etc/hostname (leaves the job folder" in result.output
        assert flock.keys(flock.inputs_bucket) == []

    def test_many_with_one_bad_link_uploads_nothing(self, run, flock, tmp_path):
        """Batch --many refuses every job when one job folder has a link that leaves it."""
        good = _job(tmp_path / "good")
        bad = _job(tmp_path / "bad")
        (bad / "gone").symlink_to("nowhere")
        result = run("batch", "--many", str(good), "--many", str(bad))
        assert result.exit_code == 1
        assert "gone -> nowhere (dangling" in result.output
        assert flock.keys(flock.inputs_bucket) == []

    def test_links_inside_are_uploaded(self, run, flock, tmp_path):
        """Batch --many uploads links inside each folder as the files they point to."""
        jobs = [_job(tmp_path / f"job{i}", **{"d/f": str(i)}) for i in range(2)]
        for job in jobs:
            (job / "link").symlink_to("d")
        result = run("batch", "--many", str(jobs[0]), "--many", str(jobs[1]))
        assert result.exit_code == 0, result.output
        bodies = []
        s3 = flock.client("s3")
        for key in flock.keys(flock.inputs_bucket):
            body = s3.get_object(Bucket=flock.inputs_bucket, Key=key)["Body"].read()
            bodies.append(_members(io.BytesIO(body)))
        assert sorted(b["link/f"] for b in bodies) == [b"0", b"1"]
