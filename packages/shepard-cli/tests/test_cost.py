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


def _put(counted, uuid, status, *, tag=None, age_minutes=5, run_seconds=None, **usage) -> None:  # noqa: PLR0913
    """Write a counted row submitted `age_minutes` ago; with `run_seconds`, a run that long on local.flock.

    The row is written as the flock's writers write it: its status and usage counted in the same write.
    """
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
    counted.write([(row, _iso(submitted))])


# local.flock: 4 vCPUs, 16 GiB, USD 0.20/h; a 1 vCPU / 2 GiB job holds a quarter: USD 0.05 per hour run.
QUARTER_HOUR_RATE = 0.05


@pytest.fixture
def rows(counted):
    """Priced jobs in two TAGs and both ended groups, an unpriced one of each kind, others not counted."""
    flock = counted
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

    def test_watch_shows_the_spend_of_the_rows_a_scan_reads(self, run, rows):
        """`shepard watch --once` with a filter that scans prices the rows it read."""
        result = run("watch", "--once", "--since", "1d")
        assert "Spend so far: $0.180000 over 4 priced job(s), 3 unpriced" in result.output
        document = json.loads(run("watch", "--once", "--since", "1d", "--output", "json").output)
        assert document["spend"]["total_usd"] == pytest.approx(0.18)
        assert document["spend"]["priced"] == 4


class TestWatchSpendFromCounters:
    def test_the_counters_spend_equals_cost_s_total(self, run, rows):
        """Without filters watch reads only the counters, and its spend is `shepard cost`'s total."""
        total = _cost(run)["total_usd"]
        result = run("watch", "--once")
        assert "from status counters" in result.output
        # A job that never recorded a run (u-norun) is in no usage counter: two unpriced, not three.
        assert f"Spend so far: ${total:.6f} over 4 priced job(s), 2 unpriced" in result.output
        document = json.loads(run("watch", "--once", "--output", "json").output)
        assert document["spend"]["total_usd"] == pytest.approx(total) == pytest.approx(0.18)
        assert (document["spend"]["priced"], document["spend"]["unpriced"]) == (4, 2)
        assert document["spend"]["by_tag"] == pytest.approx(_cost(run)["by_tag"])
        assert document["spend"]["spot_estimated"] is False

    @pytest.mark.parametrize("tag", ["run1", "run2"])
    def test_the_tag_s_spend_equals_cost_s_for_that_tag(self, run, rows, tag):
        """`watch --tag` prices that TAG's usage counters alone, as `cost --tag` prices its rows."""
        expected = _cost(run, "--tag", tag)["total_usd"]
        document = json.loads(run("watch", "--once", "--tag", tag, "--output", "json").output)
        assert document["spend"]["total_usd"] == pytest.approx(expected)
        assert expected > 0

    def test_a_view_without_both_ended_groups_shows_no_spend(self, run, rows):
        """The usage counters are not split by status: a view of `complete` alone is not priced."""
        document = json.loads(run("watch", "--once", "--status", "complete", "--output", "json").output)
        assert document["spend"] is None
