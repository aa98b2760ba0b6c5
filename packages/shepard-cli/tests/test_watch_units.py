"""The pieces of `shepard watch` without AWS: groups, --since, rate, ETA, snapshots, rendering, the loop."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console
from shepard_cli import _watch_loop
from shepard_cli._watch_filters import WatchFilters, parse_since
from shepard_cli._watch_loop import run_watch, watch_live
from shepard_cli._watch_render import format_duration, live_view, plain_snapshot, summary_line
from shepard_cli._watch_snapshot import (
    completion_rate,
    eta_seconds,
    parse_row_time,
    take_snapshot,
)
from shepard_core import (
    JobRow,
    JobStatus,
    StatusGroup,
    api_rejection_report_key,
    error_object_name,
    format_start_time,
    rejection_report_key,
)

NOON = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _minutes_before_noon(minutes: float) -> datetime:
    return NOON - timedelta(minutes=minutes)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _row(status: JobStatus, *, uuid: str = "u", **fields) -> JobRow:
    defaults = {"inputs": {}, "input_zip_name": f"{uuid}.zip", "is_invoked": False, "end_time": 0}
    return JobRow(uuid=uuid, status=status, **(defaults | fields))


class TestSince:
    @pytest.mark.parametrize(
        ("text", "delta"),
        [
            ("30m", timedelta(minutes=30)),
            ("2h", timedelta(hours=2)),
            ("1d", timedelta(days=1)),
            ("1h30m", timedelta(hours=1, minutes=30)),
            ("45s", timedelta(seconds=45)),
        ],
    )
    def test_an_age_counts_back_from_now(self, text, delta):
        """An age such as 30m or 1h30m names that long before now."""
        assert parse_since(text, NOON) == NOON - delta

    def test_an_iso_time_with_a_zone_is_taken_as_written(self):
        """An ISO time with Z or an offset names that moment, in UTC."""
        assert parse_since("2026-05-01T10:00:00Z", NOON) == datetime(2026, 5, 1, 10, tzinfo=UTC)
        assert parse_since("2026-05-01T12:00:00+02:00", NOON) == datetime(2026, 5, 1, 10, tzinfo=UTC)

    def test_anything_else_is_refused(self):
        """Text that is neither an age nor an ISO time is refused with both forms named."""
        with pytest.raises(ValueError, match="neither an age"):
            parse_since("yesterday", NOON)

    @pytest.mark.parametrize(
        ("text", "says"),
        [
            ("999999w", "before 1970"),
            ("99999999999999999999d", "before 1970"),
            ("9" * 400 + "s", "before 1970"),
            ("20575d", "before 1970"),
            ("-5m", "negative age"),
            ("-1h30m", "negative age"),
            ("0001-01-01T00:00:00+05:00", "out of the range"),
            ("9999-12-31T23:59:59-05:00", "out of the range"),
            ("1969-12-31T23:59:59Z", "before 1970"),
            ("2026-05-01T12:00:01Z", "in the future"),
            ("9999-12-31T00:00:00Z", "in the future"),
        ],
    )
    def test_out_of_range_is_refused_saying_why(self, text, says):
        """An age or time outside 1970..now is refused with its reason, never an OverflowError."""
        with pytest.raises(ValueError, match=says) as info:
            parse_since(text, NOON)
        assert not isinstance(info.value, OverflowError)

    def test_the_oldest_age_is_named(self):
        """The refusal of an age too old names the largest age that would do."""
        with pytest.raises(ValueError, match=r"at most 20,574d"):
            parse_since("999999w", NOON)
        assert parse_since("20574d", NOON) > datetime(1970, 1, 1, tzinfo=UTC)

    def test_a_zero_age_is_now(self):
        """An age of zero names this moment: a live view of the jobs submitted from now on."""
        assert parse_since("0s", NOON) == NOON
        assert parse_since("0w", NOON) == NOON


class TestRowTimes:
    def test_start_time_layout_round_trips(self):
        """START_TIME as the worker writes it reads back as the same moment."""
        moment = datetime(2026, 5, 1, 11, 59, 7, tzinfo=UTC)
        assert parse_row_time(format_start_time(moment)) == moment

    def test_iso_times_and_junk(self):
        """ISO times read as UTC; an unreadable time reads as None."""
        assert parse_row_time("2026-05-01T11:00:00.000Z") == NOON - timedelta(hours=1)
        assert parse_row_time("soon") is None
        assert parse_row_time(None) is None


class TestRate:
    def test_ends_in_the_window_over_the_window(self):
        """With jobs in view since long ago, the rate is the ends of the last 10 minutes over 10 minutes."""
        finishes = [_minutes_before_noon(m) for m in (9, 5, 1, 20)]
        rate = completion_rate(finishes, NOON, began=_minutes_before_noon(60))
        assert rate == pytest.approx(0.3)

    def test_a_young_batch_is_averaged_over_its_age(self):
        """A batch that began 2 minutes ago has its ends averaged over 2 minutes, not 10."""
        finishes = [_minutes_before_noon(m) for m in (1.5, 1, 0.5, 0)]
        assert completion_rate(finishes, NOON, began=_minutes_before_noon(2)) == pytest.approx(2.0)

    def test_no_ends_is_rate_zero(self):
        """Without an end in the window the rate is 0."""
        assert completion_rate([], NOON, began=None) == 0.0

    def test_eta(self):
        """The ETA is what remains over the rate; 0 when nothing remains; unknown at rate 0."""
        assert eta_seconds(6, 0.3) == pytest.approx(1200)
        assert eta_seconds(0, 0.0) == 0.0
        assert eta_seconds(5, 0.0) is None


class TestSnapshot:
    def _rows(self) -> list[JobRow]:
        ended = _iso(_minutes_before_noon(1))
        submitted = _iso(_minutes_before_noon(5))
        return [
            _row(JobStatus.SUBMITTED, uuid="s", submit_time=submitted),
            _row(JobStatus.CALLING_PAYLOAD_CODE, uuid="r", submit_time=submitted),
            _row(JobStatus.JOB_COMPLETE, uuid="c", submit_time=submitted, finish_time=ended, exit_code=0),
            _row(
                JobStatus.JOB_FAILED,
                uuid="f",
                inputs={"tag": "run 1"},
                submit_time=submitted,
                start_time="2026-05-01T11-56-00Z",
                finish_time=_iso(_minutes_before_noon(2)),
                exit_code=3,
            ),
            _row(
                JobStatus.REJECTED,
                uuid="z",
                finish_time=_iso(_minutes_before_noon(3)),
                rejection_reason="bad",
            ),
            _row(
                JobStatus.REJECTED,
                uuid="a",
                is_invoked=True,
                finish_time=_iso(_minutes_before_noon(0.5)),
                rejection_reason="  reserved\n keyword ",
            ),
        ]

    def test_counts_progress_rate_and_eta(self):
        """Rows count in their groups; ended share, rate over the batch's age and the ETA follow."""
        snapshot = take_snapshot(self._rows(), table="t", now=NOON, filters=WatchFilters())
        assert snapshot.counts == {
            StatusGroup.SUBMITTED: 1,
            StatusGroup.RUNNING: 1,
            StatusGroup.COMPLETE: 1,
            StatusGroup.FAILED: 1,
            StatusGroup.REJECTED: 2,
        }
        assert (snapshot.total, snapshot.ended) == (6, 4)
        # two jobs ran to an end in the 5 minutes since the first submission
        assert snapshot.rate_per_minute == pytest.approx(0.4)
        assert snapshot.eta_seconds == pytest.approx(300)
        assert snapshot.eta == NOON + timedelta(minutes=5)

    def test_problems_newest_first_with_where_to_look(self):
        """Failures and rejections come newest first, with reason, exit code, log zip or report key."""
        snapshot = take_snapshot(self._rows(), table="t", now=NOON, filters=WatchFilters(), problems_shown=2)
        assert [p.uuid for p in snapshot.problems] == ["a", "f"]
        assert snapshot.problems_total == 3
        api, failed = snapshot.problems
        assert api.reason == "reserved keyword"
        assert api.report_key == api_rejection_report_key("a")
        assert failed.exit_code == 3
        assert failed.error_zip_key == error_object_name("f", "2026-05-01T11-56-00Z", "run 1")
        older = take_snapshot(self._rows(), table="t", now=NOON, filters=WatchFilters()).problems[2]
        assert older.report_key == rejection_report_key("z.zip")

    def test_a_job_batch_ended_shows_batch_s_reason(self):
        """A job the reconciler failed (Batch cancelled it) is a problem with Batch's reason and exit code."""
        reason = "AWS Batch ended the job before it started (FAILED): Cancelled with shepard cancel b"
        row = _row(
            JobStatus.JOB_FAILED,
            uuid="b",
            start_time="2026-05-01T11-59-00Z",
            finish_time=_iso(_minutes_before_noon(1)),
            failure_reason=reason,
            exit_code=137,
        )
        [problem] = take_snapshot([row], table="t", now=NOON, filters=WatchFilters()).problems
        assert problem.reason == reason
        assert problem.exit_code == 137
        assert problem.error_zip_key == error_object_name("b", "2026-05-01T11-59-00Z")

    def test_json_shape(self):
        """The JSON snapshot holds the documented keys, counts for every group and the problems."""
        document = take_snapshot(
            self._rows(), table="t", now=NOON, filters=WatchFilters(tag="x"), errors_bucket="errs"
        ).to_json()
        assert document["counts"] == {"submitted": 1, "running": 1, "complete": 1, "failed": 1, "rejected": 2}
        assert document["filters"] == {"since": None, "tag": "x", "prefix": None, "status": None}
        assert document["eta"] == "2026-05-01T12:05:00.000Z"
        assert document["progress"] == pytest.approx(4 / 6, abs=1e-4)
        assert document["problems"][0]["group"] == "rejected"
        assert set(document) >= {"taken_at", "total", "ended", "rate_per_minute", "eta_seconds", "problems"}

    def test_nothing_in_view_is_done(self):
        """With no job in view the progress is whole and the ETA is zero."""
        snapshot = take_snapshot([], table="t", now=NOON, filters=WatchFilters())
        assert (snapshot.progress, snapshot.eta_seconds) == (1.0, 0.0)


class TestRender:
    def test_durations_read_as_spoken(self):
        """Durations are shown in the two largest units."""
        assert [format_duration(s) for s in (45, 192, 7500, 270000, None)] == [
            "45s",
            "3m 12s",
            "2h 05m",
            "3d 3h",
            "unknown",
        ]

    def test_plain_outputs_hold_no_escape_codes(self):
        """The one-line and --once forms are plain text naming counts, rate, ETA and log zips."""
        snapshot = take_snapshot(
            TestSnapshot()._rows(), table="t", now=NOON, filters=WatchFilters(), errors_bucket="errs"
        )
        line = summary_line(snapshot)
        assert "\n" not in line
        assert "submitted 1, running 1, complete 1, failed 1, rejected 2" in line
        assert "0.4 jobs/min" in line
        assert "ETA 5m 00s (12:05:00 UTC)" in line
        text = plain_snapshot(snapshot)
        assert "s3://errs/run_1_error@f_2026-05-01T11-56-00Z.zip" in text
        assert "\x1b" not in line + text

    def test_live_view_renders_counts_bar_and_problems(self):
        """The live view shows each group's count, the share ended and the problems table."""
        snapshot = take_snapshot(TestSnapshot()._rows(), table="t", now=NOON, filters=WatchFilters())
        console = Console(file=io.StringIO(), width=140, record=True)
        console.print(live_view(snapshot, 5))
        text = console.export_text()
        for word in (
            "SUBMITTED",
            "RUNNING",
            "COMPLETE",
            "FAILED",
            "REJECTED",
            "4/6 ended (66.7%)",
            "exit code 3",
        ):
            assert word in text


class TestLoop:
    def test_ctrl_c_while_waiting_ends_the_loop(self):
        """A KeyboardInterrupt during the wait ends the loop normally, after the snapshots shown."""
        shown = []

        def interrupt(_seconds):
            if len(shown) == 2:
                raise KeyboardInterrupt

        count = run_watch(lambda: "snapshot", shown.append, interval=1, sleep=interrupt)
        assert (count, shown) == (2, ["snapshot", "snapshot"])

    def test_ctrl_c_while_reading_ends_the_loop(self):
        """A KeyboardInterrupt while a snapshot is read ends the loop with nothing more shown."""

        def take():
            raise KeyboardInterrupt

        assert run_watch(take, pytest.fail, interval=1, sleep=pytest.fail) == 0

    def test_once_shows_one_snapshot_and_never_waits(self):
        """With once, one snapshot is shown and the loop returns without waiting."""
        shown = []
        assert run_watch(lambda: 1, shown.append, interval=1, once=True, sleep=pytest.fail) == 1
        assert shown == [1]

    def test_live_view_restores_the_terminal_after_ctrl_c(self, monkeypatch):
        """In a terminal, Ctrl-C leaves the live view with the cursor shown again and the frame kept."""
        snapshot = take_snapshot(TestSnapshot()._rows(), table="t", now=NOON, filters=WatchFilters())
        out = io.StringIO()
        console = Console(file=out, force_terminal=True, width=120)

        def interrupt(_seconds):
            raise KeyboardInterrupt

        monkeypatch.setattr(_watch_loop, "_sleep", interrupt)
        assert watch_live(lambda: snapshot, console, interval=5) == 1
        written = out.getvalue()
        assert "\x1b[?25l" in written  # the cursor was hidden while the view ran
        assert written.rstrip("\n").endswith("\x1b[?25h")  # and shown again when it ended
        assert "4/6 ended" in written

    def test_a_second_ctrl_c_while_the_view_closes_still_ends_cleanly(self, monkeypatch):
        """A second Ctrl-C as the live view closes ends it normally, with the cursor shown again."""
        import rich.live

        snapshot = take_snapshot(TestSnapshot()._rows(), table="t", now=NOON, filters=WatchFilters())
        out = io.StringIO()
        console = Console(file=out, force_terminal=True, width=120)
        stop = rich.live.Live.stop

        def stop_then_interrupt(live):
            stop(live)
            raise KeyboardInterrupt

        def interrupt(_seconds):
            raise KeyboardInterrupt

        monkeypatch.setattr(rich.live.Live, "stop", stop_then_interrupt)
        assert watch_live(lambda: snapshot, console, interval=5, sleep=interrupt) == 1
        assert out.getvalue().rstrip("\n").endswith("\x1b[?25h")


class TestPaceShards:
    @pytest.mark.parametrize(
        ("ended", "shards"), [(0, 16), (13, 16), (80, 16), (160, 8), (640, 2), (100_000, 2)]
    )
    def test_few_shards_for_many_ended_jobs(self, ended, shards):
        """A flock with few ended jobs is sampled from every shard, a big one from a few."""
        from shepard_cli._watch_counted import pace_shards

        assert pace_shards(ended) == shards
