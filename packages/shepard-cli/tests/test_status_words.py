"""`shepard query --status` and `shepard watch --status`: the same words, the same rows (moto server)."""

from __future__ import annotations

import collections
import json

import pytest
from shepard_core import GROUP_OF, JobRow, JobStatus, status_choices

WORDS = [*status_choices(), "FAILED", "Active"]


@pytest.fixture
def one_row_per_status(counted):
    """Write one counted job row in every JOB_STATUS, plus a second failed one; return the rows."""
    rows = []
    for i, status in enumerate([*JobStatus, JobStatus.JOB_FAILED]):
        row = JobRow(
            uuid=f"job-{i:02d}",
            status=status,
            inputs={"SAMPLE": str(i)},
            input_zip_name=f"batch/job-{i:02d}.zip",
            is_invoked=False,
            end_time=2_000_000_000,
            start_time="2026-01-01T00-00-00Z",
            rejection_reason="bad inputs" if status is JobStatus.REJECTED else None,
        )
        counted.write([(row, f"2026-01-01T00:00:{i:02d}.000Z")])
        rows.append(row)
    return rows


def _query_groups(run, *args: str) -> collections.Counter[str]:
    result = run("query", "--output", "json", *args)
    assert result.exit_code == 0, result.output
    return collections.Counter(
        GROUP_OF[JobStatus(view["status"])].value for view in json.loads(result.output)
    )


def _watch_groups(run, *args: str) -> collections.Counter[str]:
    result = run("watch", "--once", "--output", "json", *args)
    assert result.exit_code == 0, result.output
    return collections.Counter({group: n for group, n in json.loads(result.output)["counts"].items() if n})


class TestSameWordsSameRows:
    @pytest.mark.parametrize("word", WORDS)
    def test_each_word_selects_the_same_rows_in_query_and_watch(self, run, one_row_per_status, word):
        """Every word one command accepts, the other accepts, and both select the same jobs."""
        in_query = _query_groups(run, "--status", word)
        assert in_query, f"--status {word!r} selected nothing"
        assert in_query == _watch_groups(run, "--status", word)

    def test_failed_leaves_rejected_jobs_out_in_both(self, run, one_row_per_status):
        """Failed is jobs that ran and failed; rejected jobs are only in rejected."""
        assert _query_groups(run, "--status", "failed") == {"failed": 2}
        assert _watch_groups(run, "--status", "failed") == {"failed": 2}
        assert _query_groups(run, "--status", "rejected") == {"rejected": 1}
        assert _watch_groups(run, "--status", "rejected") == {"rejected": 1}

    def test_repeated_words_add_up_alike(self, run, one_row_per_status):
        """Several --status words select the union of their rows in both commands."""
        args = ("--status", "failed", "--status", "rejected", "--status", "in_progress")
        assert (
            _query_groups(run, *args)
            == _watch_groups(run, *args)
            == {"failed": 2, "rejected": 1, "running": 1}
        )

    @pytest.mark.parametrize("command", [("query",), ("watch", "--once")])
    @pytest.mark.parametrize("word", ["succeeded", "done", "job-failed"])
    def test_unknown_word_is_refused_alike(self, run, flock, command, word):
        """Both commands refuse an unknown word with the same message listing the accepted words."""
        result = run(*command, "--status", word)
        assert result.exit_code == 1
        assert f"unknown status {word!r}" in result.output
        assert "'active', 'finished'" in result.output

    @pytest.mark.parametrize("command", ["query", "watch"])
    def test_help_names_every_group_word(self, run, command):
        """The --status help of both commands names every group word and says rejected is not failed."""
        text = " ".join(run(command, "--help").output.split())
        for word in ("submitted", "running", "complete", "failed", "rejected", "active", "finished"):
            assert word in text
        assert "not part of failed" in text
