"""`shepard cost` against moto server (a loopback endpoint: the local figures price `local.flock`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from shepard_core import JobRow, JobStatus, format_start_time

NOW = datetime.now(UTC)
HOUR_MS = 3_600_000


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _put(flock, uuid, status, *, tag=None, age_minutes=5, run_seconds=None, **usage) -> None:  # noqa: PLR0913
    """Write a row submitted `age_minutes` ago; with `run_seconds`, a run of that length on local.flock."""
    submitted = NOW - timedelta(minutes=age_minutes)
    started = int(submitted.timestamp() * 1000) + 1000
    run = {}
    if run_seconds is not None:
        run = {
            "instance_type": "local.flock",
            "capacity_type": "on-demand",
            "vcpus": 1,
            "memory_mib": 2048,
            "run_started_ms": started,
            "run_ended_ms": started + int(run_seconds * 1000),
        }
    row = JobRow(
        uuid=uuid,
        status=status,
        inputs={} if tag is None else {"TAG": tag},
        input_zip_name=f"{uuid}.zip",
        is_invoked=False,
        end_time=2_000_000_000,
        submit_time=None if status is JobStatus.REJECTED else _iso(submitted),
        start_time=format_start_time(submitted),
        finish_time=_iso(submitted + timedelta(minutes=1)),
        **{**run, **usage},
    )
    flock.client("dynamodb").put_item(TableName=flock.table, Item=row.to_item())


# local.flock: 4 vCPUs, 16 GiB, USD 0.20/h; a 1 vCPU / 2 GiB job holds a quarter: USD 0.05 per hour run.
QUARTER_HOUR_RATE = 0.05


@pytest.fixture
def rows(flock):
    """Priced jobs in two TAGs and both ended groups, an unpriced one of each kind, others not counted."""
    _put(flock, "a-1", JobStatus.JOB_COMPLETE, tag="run1", run_seconds=3600)
    _put(flock, "a-2", JobStatus.JOB_FAILED, tag="run1", run_seconds=1800)
    _put(flock, "b-1", JobStatus.JOB_COMPLETE, tag="run2", run_seconds=7200, age_minutes=600)
    _put(flock, "n-1", JobStatus.JOB_COMPLETE, run_seconds=360)
    _put(flock, "u-instance", JobStatus.JOB_FAILED, tag="run1", vcpus=1, memory_mib=2048,
         run_started_ms=1, run_ended_ms=2)  # fmt: skip
    _put(flock, "u-aws", JobStatus.JOB_COMPLETE, tag="run2", run_seconds=60, instance_type="m5.large")
    _put(flock, "u-norun", JobStatus.JOB_FAILED, tag="run2")
    _put(flock, "r-1", JobStatus.REJECTED)
    _put(flock, "s-1", JobStatus.SUBMITTED)
    _put(flock, "p-1", JobStatus.CALLING_PAYLOAD_CODE)


def _cost(run, *args):
    result = run("cost", "--output", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


class TestCost:
    def test_the_total_and_splits_by_tag_and_status(self, run, rows):
        """Each priced job costs rate x share x hours; the splits add up to the total."""
        document = _cost(run)
        expected = {"a-1": 1, "a-2": 0.5, "b-1": 2, "n-1": 0.1}
        assert document["total_usd"] == pytest.approx(QUARTER_HOUR_RATE * sum(expected.values()))
        assert document["by_tag"] == pytest.approx({"run1": 0.075, "run2": 0.1, "(no TAG)": 0.005})
        assert document["by_status"] == pytest.approx({"complete": 0.155, "failed": 0.025})
        assert document["jobs"] == {"priced": 4, "unpriced": 3, "not_ended": 2, "never_ran": 1}

    def test_unpriced_jobs_are_listed_with_their_reason(self, run, rows):
        """No instance recorded, an AWS type at a local endpoint, no run: each says why."""
        reasons = {job["uuid"]: job["reason"] for job in _cost(run)["unpriced"]}
        assert "instance was not recorded" in reasons["u-instance"]
        assert "local flock" in reasons["u-aws"]
        assert "no run recorded" in reasons["u-norun"]

    def test_tag_and_status_narrow_what_is_priced(self, run, rows):
        """--tag run1 --status failed: a-2 alone is priced, u-instance alone unpriced."""
        document = _cost(run, "--tag", "run1", "--status", "failed")
        assert document["total_usd"] == pytest.approx(0.025)
        assert [job["uuid"] for job in document["unpriced"]] == ["u-instance"]
        assert document["filters"]["tag"] == "run1"

    def test_since_leaves_older_jobs_out(self, run, rows):
        """--since 1h drops b-1, submitted ten hours ago."""
        document = _cost(run, "--since", "1h")
        assert "run2" not in document["by_tag"]
        assert document["total_usd"] == pytest.approx(0.08)

    def test_the_table_view_shows_the_total_splits_and_unpriced(self, run, rows):
        """The rich view: total line, tables by TAG and by status, the unpriced jobs and what is left out."""
        result = run("cost")
        assert result.exit_code == 0, result.output
        assert "$0.180000 for 4 priced job(s)" in result.output
        assert "Cost by tag" in result.output
        assert "Cost by status" in result.output
        assert "3 unpriced job(s)" in result.output
        assert "idle capacity" in result.output

    def test_an_unknown_status_word_is_refused_like_query(self, run, rows):
        """The same --status vocabulary as `shepard query`: an unknown word is one clear error."""
        result = run("cost", "--status", "sleeping")
        assert result.exit_code != 0
        assert "unknown status 'sleeping'" in result.output

    def test_watch_shows_the_spend_of_the_rows_it_reads(self, run, rows):
        """`shepard watch --once` adds a spend line; its JSON the spend's total and counts."""
        result = run("watch", "--once")
        assert "Spend so far: $0.180000 over 4 priced job(s), 3 unpriced" in result.output
        document = json.loads(run("watch", "--once", "--output", "json").output)
        assert document["spend"]["total_usd"] == pytest.approx(0.18)
        assert document["spend"]["priced"] == 4
