"""One look at a flock: counts per status group, progress, completion rate, ETA, the newest failures."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from shepard_core import (
    ENDED_GROUPS,
    GROUP_OF,
    PROBLEM_GROUPS,
    RAN_GROUPS,
    TAG,
    JobRow,
    StatusGroup,
    error_object_name,
    special_value,
)

from shepard_cli._rejections import report_key
from shepard_cli._watch_filters import iso_moment

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from shepard_cli._cost_render import Spend
    from shepard_cli._watch_filters import WatchFilters
    from shepard_cli._watch_queue import Backlog
    from shepard_cli._watch_waits import LongWaits

RATE_WINDOW: Final = timedelta(minutes=10)
"""How far back the completion rate looks: recent enough to follow a change of pace."""

START_TIME_LAYOUT: Final = "%Y-%m-%dT%H-%M-%SZ"
"""The layout of START_TIME as shepard_core.format_start_time writes it (dashes, safe in S3 keys)."""


def parse_row_time(value: str | None) -> datetime | None:
    """Return a row's time (ISO, or START_TIME's layout) as an aware UTC datetime; None when unreadable."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        try:
            moment = datetime.strptime(value, START_TIME_LAYOUT)  # noqa: DTZ007 - the layout ends in Z: UTC
        except ValueError:
            return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def completion_rate(
    finishes: Iterable[datetime], now: datetime, *, began: datetime | None, window: timedelta = RATE_WINDOW
) -> float:
    """Return jobs ended per minute: the ends within `window` before `now`, over the time they span.

    The span is the window, or less when the jobs in view began (were first submitted) later than its
    start, so a batch started two minutes ago is not averaged over ten.
    """
    start = now - window
    if began is not None and began > start:
        start = began
    span = (now - start).total_seconds()
    recent = sum(1 for moment in finishes if start <= moment <= now)
    if span <= 0:
        return 0.0
    return recent / (span / 60)


def eta_seconds(remaining: int, rate_per_minute: float) -> float | None:
    """Return the seconds until `remaining` jobs end at `rate_per_minute` (0: none left; None: rate 0)."""
    if remaining <= 0:
        return 0.0
    if rate_per_minute <= 0:
        return None
    return remaining / rate_per_minute * 60


@dataclasses.dataclass(frozen=True, kw_only=True)
class Problem:
    """A failed or rejected job, with what the user needs to look into it."""

    uuid: str
    group: StatusGroup
    ended_at: str | None
    input_zip_name: str | None
    reason: str | None
    exit_code: int | None
    error_zip_key: str | None
    """The errors-bucket key of a failed job's log zip."""
    report_key: str | None
    """The errors-bucket key of a rejected job's report."""

    @classmethod
    def from_row(cls, row: JobRow) -> Problem:
        """Return the problem a failed or rejected row shows."""
        group = GROUP_OF[row.status]
        error_zip = None
        if group is StatusGroup.FAILED and row.start_time:
            error_zip = error_object_name(row.uuid, row.start_time, special_value(row.inputs, TAG))
        return cls(
            uuid=row.uuid,
            group=group,
            ended_at=row.finish_time,
            input_zip_name=row.input_zip_name or None,
            reason=" ".join(row.reason.split()) if row.reason else None,
            exit_code=row.exit_code,
            error_zip_key=error_zip,
            report_key=report_key(row) if group is StatusGroup.REJECTED else None,
        )

    def to_json(self) -> dict[str, Any]:
        """Return the problem as a JSON-ready dict."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Snapshot:
    """What one refresh saw."""

    table: str
    taken_at: datetime
    filters: WatchFilters
    counts: dict[StatusGroup, int]
    rate_per_minute: float
    problems: tuple[Problem, ...]
    """The newest failures and rejections, newest first."""
    problems_total: int
    errors_bucket: str | None = None
    left_out: int = 0
    """Items of the table that are not job rows."""
    scan_seconds: float = 0.0
    backlog: Backlog | None = None
    """Uploads in the scheduler's queue, which have no row yet (None: the queue is not known)."""
    long_waits: LongWaits | None = None
    """Jobs waiting for AWS Batch longer than the threshold, and why (None: not looked for)."""
    spend: Spend | None = None
    """What the jobs in view cost so far, from a scan's rows or the usage counters (None: not priced)."""
    rate_window: timedelta = RATE_WINDOW
    """How far back the completion rate looks."""
    tags: Mapping[str, Mapping[StatusGroup, int]] = dataclasses.field(default_factory=dict)
    """The counts per TAG of the jobs in view that have one."""
    items_read: int = 0
    """Table items (counter items and job rows) read for this snapshot."""
    counted_by: str = "scan"
    """"counters" (the status counters and job-list indexes) or "scan" (a scan of the whole table)."""

    @property
    def total(self) -> int:
        """Return the number of jobs in view."""
        return sum(self.counts.values())

    @property
    def ended(self) -> int:
        """Return the number of jobs in view that have ended (complete, failed or rejected)."""
        return sum(self.counts[group] for group in ENDED_GROUPS)

    @property
    def progress(self) -> float:
        """Return the share of the jobs in view that have ended, 0 to 1 (1 when none is in view)."""
        return self.ended / self.total if self.total else 1.0

    @property
    def eta_seconds(self) -> float | None:
        """Return the seconds until every job in view has ended at the current rate (None: unknown)."""
        return eta_seconds(self.total - self.ended, self.rate_per_minute)

    @property
    def eta(self) -> datetime | None:
        """Return when every job in view should have ended, or None when unknown."""
        seconds = self.eta_seconds
        return None if seconds is None else self.taken_at + timedelta(seconds=seconds)

    def to_json(self) -> dict[str, Any]:
        """Return the snapshot in the documented JSON shape of `shepard watch --output json`."""
        eta = self.eta
        return {
            "table": self.table,
            "taken_at": iso_moment(self.taken_at),
            "filters": self.filters.to_json(),
            "total": self.total,
            "counts": {group.value: self.counts[group] for group in StatusGroup},
            "ended": self.ended,
            "progress": round(self.progress, 4),
            "rate_per_minute": round(self.rate_per_minute, 3),
            "rate_window_seconds": int(self.rate_window.total_seconds()),
            "eta_seconds": None if self.eta_seconds is None else round(self.eta_seconds, 1),
            "eta": None if eta is None else iso_moment(eta),
            "errors_bucket": self.errors_bucket,
            "problems_total": self.problems_total,
            "problems": [problem.to_json() for problem in self.problems],
            "left_out_items": self.left_out,
            "scan_seconds": round(self.scan_seconds, 3),
            "waiting_for_scheduler": None if self.backlog is None else self.backlog.to_json(),
            "waiting_for_batch": None if self.long_waits is None else self.long_waits.to_json(),
            "spend": None if self.spend is None else self.spend.spend_json(),
            "tags": {
                tag: {group.value: counts.get(group, 0) for group in StatusGroup}
                for tag, counts in sorted(self.tags.items())
            },
            "items_read": self.items_read,
            "counted_by": self.counted_by,
        }


def _first_time(row: JobRow) -> datetime | None:
    return next(
        (
            moment
            for value in (row.submit_time, row.start_time, row.finish_time)
            if (moment := parse_row_time(value))
        ),
        None,
    )


def take_snapshot(  # noqa: PLR0913 - what was read, and how to present it
    rows: Iterable[JobRow],
    *,
    table: str,
    now: datetime,
    filters: WatchFilters,
    problems_shown: int = 10,
    errors_bucket: str | None = None,
    left_out: int = 0,
    scan_seconds: float = 0.0,
) -> Snapshot:
    """Return the snapshot of the rows in view at `now`."""
    counts = dict.fromkeys(StatusGroup, 0)
    tags: dict[str, dict[StatusGroup, int]] = {}
    read = 0
    finishes: list[datetime] = []
    problems: list[tuple[datetime, JobRow]] = []
    began: datetime | None = None
    oldest = datetime.min.replace(tzinfo=UTC)
    for row in rows:
        group = GROUP_OF[row.status]
        counts[group] += 1
        read += 1
        if (tag := special_value(row.inputs, TAG)) is not None:
            tags.setdefault(tag, dict.fromkeys(StatusGroup, 0))[group] += 1
        first = _first_time(row)
        if first is not None and (began is None or first < began):
            began = first
        ended = parse_row_time(row.finish_time)
        if group in RAN_GROUPS and ended is not None:
            finishes.append(ended)
        if group in PROBLEM_GROUPS:
            problems.append((ended or first or oldest, row))
    problems.sort(key=lambda pair: (pair[0], pair[1].uuid), reverse=True)
    return Snapshot(
        table=table,
        taken_at=now,
        filters=filters,
        counts=counts,
        rate_per_minute=completion_rate(finishes, now, began=began),
        problems=tuple(Problem.from_row(row) for _, row in problems[:problems_shown]),
        problems_total=len(problems),
        errors_bucket=errors_bucket,
        left_out=left_out,
        scan_seconds=scan_seconds,
        tags=tags,
        items_read=read + left_out,
    )
