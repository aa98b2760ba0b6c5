"""Output off a terminal: no progress bars, tables whose rows are never wrapped, warnings on one line."""

import json
import uuid

import pytest
from shepard_cli import _render
from shepard_cli._jobs import JobView
from shepard_core import JobRow, JobStatus


def _put(flock, status, **inputs):
    row = JobRow(
        uuid=str(uuid.uuid4()),
        status=status,
        inputs=inputs,
        input_zip_name=f"{'deep/' * 10}{uuid.uuid4()}.zip",
        is_invoked=False,
        end_time=2_000_000_000,
        start_time="2026-01-01T00-00-00Z",
        rejection_reason="'UUID' is a reserved keyword [and a bracket]"
        if status is JobStatus.REJECTED
        else None,
    )
    flock.client("dynamodb").put_item(TableName=flock.table, Item=row.to_item())
    return row


@pytest.fixture(params=["20", "80"])
def narrow(request, monkeypatch):
    """A COLUMNS setting far narrower than a table row."""
    monkeypatch.setenv("COLUMNS", request.param)


class TestPipedTables:
    def test_query_rows_are_never_wrapped(self, run, flock, narrow):
        """Each job of a piped query table is one line holding its whole UUID, zip name and inputs."""
        rows = [
            _put(flock, JobStatus.IN_PROGRESS, LONG="x" * 150, B="2"),
            _put(flock, JobStatus.REJECTED),
            _put(flock, JobStatus.JOB_COMPLETE),
        ]
        result = run("query")
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        for row in rows:
            (line,) = [line for line in lines if row.uuid in line]
            assert row.status.value in line
            assert row.input_zip_name in line
        assert "LONG=" + "x" * 150 in result.stdout
        assert "[and a bracket]" in result.stdout

    def test_status_rows_are_never_wrapped(self, run, flock, narrow):
        """A piped status table shows each value of the job on one line."""
        row = _put(flock, JobStatus.REJECTED)
        result = run("status", row.uuid)
        assert result.exit_code == 0, result.output
        assert any(row.input_zip_name in line for line in result.stdout.splitlines())
        assert any(f"rejected/{row.input_zip_name}.json" in line for line in result.stdout.splitlines())

    def test_width_fits_the_widest_row(self, capsys):
        """Off a terminal, a table is as wide as its widest row and no wider."""
        view = JobView(uuid="u" * 36, status="in_progress", inputs={"A": "1"})
        _render.job_table([view], "t")
        lines = capsys.readouterr().out.splitlines()
        assert max(len(line) for line in lines) < 120
        assert sum("u" * 36 in line for line in lines) == 1


class TestProgressOffATerminal:
    def test_retrieve_prints_no_progress_bar(self, run, flock, tmp_path):
        """Retrieve to a pipe prints its results and no progress bar."""
        flock.client("s3").put_object(Bucket=flock.outputs_bucket, Key="r.zip", Body=b"x" * 5000)
        result = run("retrieve", "--directory-to-sync-s3-bucket-to", str(tmp_path / "r"))
        assert result.exit_code == 0, result.output
        assert result.stderr == ""
        assert "retrieving" not in result.output

    def test_batch_prints_no_progress_bar(self, run, flock, tmp_path):
        """Batch to a pipe prints the batched key on stdout and nothing on stderr."""
        folder = tmp_path / "job"
        folder.mkdir()
        (folder / "inputs.txt").write_text(json.dumps({"A": "1"}))
        result = run("batch", str(folder))
        assert result.exit_code == 0, result.output
        assert result.stderr == ""
        assert result.stdout.startswith("Batched ")

    @pytest.mark.parametrize(("tty", "shown"), [("1", True), ("0", False)])
    def test_progress_is_shown_only_on_a_terminal(self, monkeypatch, tty, shown):
        """The byte progress display is enabled exactly when stderr is a terminal."""
        monkeypatch.setenv("TTY_COMPATIBLE", tty)
        assert _render.byte_progress().disable is not shown
        assert _render.PushProgress().progress.disable is not shown


class TestWarnings:
    def test_long_warning_is_one_line(self, capsys, monkeypatch):
        """A warning longer than the terminal width stays on one line, brackets shown as written."""
        monkeypatch.setenv("COLUMNS", "30")
        _render.warn("skipped key '[bold]" + "k" * 200 + "': it resolves to the folder itself")
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert "'[bold]" + "k" * 200 in err
