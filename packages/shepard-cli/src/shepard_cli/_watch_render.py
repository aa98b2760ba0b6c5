"""How `shepard watch` shows a snapshot: a rich view for terminals, plain lines elsewhere, no escape codes."""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING, Final

from shepard_core import StatusGroup

from shepard_cli._cost_render import spend_line, usd

if TYPE_CHECKING:
    from rich.console import RenderableType

    from shepard_cli._watch_snapshot import Problem, Snapshot

GROUP_STYLES: Final = {
    StatusGroup.SUBMITTED: "cyan",
    StatusGroup.RUNNING: "yellow",
    StatusGroup.COMPLETE: "green",
    StatusGroup.FAILED: "red",
    StatusGroup.REJECTED: "magenta",
}
TAGS_SHOWN: Final = 10
"""TAGs shown in the text views (the JSON document holds every one)."""
_MINUTE: Final = 60
_HOUR: Final = 3600
_DAY: Final = 86400


def format_duration(seconds: float | None) -> str:
    """Return a duration the way a person says it (`45s`, `3m 12s`, `2h 05m`, `3d 4h`); `unknown` for None."""
    if seconds is None:
        return "unknown"
    whole = round(seconds)
    if whole < _MINUTE:
        return f"{whole}s"
    if whole < _HOUR:
        return f"{whole // _MINUTE}m {whole % _MINUTE:02d}s"
    if whole < _DAY:
        return f"{whole // _HOUR}h {whole % _HOUR // _MINUTE:02d}m"
    return f"{whole // _DAY}d {whole % _DAY // _HOUR}h"


def _clock(snapshot: Snapshot) -> str:
    return f"{snapshot.taken_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def _eta(snapshot: Snapshot) -> str:
    eta = snapshot.eta
    if snapshot.total == snapshot.ended:
        return "done"
    if eta is None:
        return "unknown (no job ended lately)"
    return f"{format_duration(snapshot.eta_seconds)} ({eta.astimezone(UTC):%H:%M:%S} UTC)"


def _counts(snapshot: Snapshot, separator: str) -> str:
    return separator.join(f"{group.value} {snapshot.counts[group]}" for group in StatusGroup)


def _short_time(value: str | None) -> str:
    """Return a row's ISO time as `YYYY-MM-DD HH:MM:SS` (UTC, as stored), or `-` when it has none."""
    return value[:19].replace("T", " ") if value else "-"


def _location(snapshot: Snapshot, key: str) -> str:
    return f"s3://{snapshot.errors_bucket}/{key}" if snapshot.errors_bucket else key


def problem_detail(snapshot: Snapshot, problem: Problem) -> str:
    """Return what a failed or rejected job left behind: its reason, exit code and error zip or report."""
    parts = []
    if problem.reason:
        parts.append(problem.reason)
    if problem.exit_code is not None:
        parts.append(f"exit code {problem.exit_code}")
    if problem.error_zip_key:
        parts.append(f"log zip {_location(snapshot, problem.error_zip_key)}")
    if problem.report_key:
        parts.append(f"report {_location(snapshot, problem.report_key)}")
    return "; ".join(parts) or "no reason recorded"


def backlog_text(snapshot: Snapshot) -> str | None:
    """Return the uploads waiting for the scheduler, in words, or None when the queue is not known."""
    backlog = snapshot.backlog
    if backlog is None:
        return None
    if backlog.total == 0:
        return "Waiting for the scheduler: no upload"
    age = (
        "oldest age unknown yet (CloudWatch publishes it each minute)"
        if backlog.oldest_age_seconds is None
        else f"the oldest {format_duration(backlog.oldest_age_seconds)} old"
    )
    return (
        f"Waiting for the scheduler: {backlog.total} upload(s) not yet jobs "
        f"({backlog.waiting} queued, {backlog.in_flight} being scheduled), {age}"
    )


def tag_lines(snapshot: Snapshot) -> list[str]:
    """Return one line per TAG in view (at most TAGS_SHOWN, the most jobs first), and how many are left."""
    ranked = sorted(snapshot.tags.items(), key=lambda pair: (-sum(pair[1].values()), pair[0]))
    lines = [
        f"  {tag}: {sum(counts.values())} jobs: "
        + ", ".join(f"{group.value} {counts.get(group, 0)}" for group in StatusGroup)
        for tag, counts in ranked[:TAGS_SHOWN]
    ]
    if len(ranked) > TAGS_SHOWN:
        lines.append(f"  and {len(ranked) - TAGS_SHOWN} more TAG(s) (--output json lists them all)")
    return lines


def _read_note(snapshot: Snapshot) -> str:
    source = "status counters" if snapshot.counted_by == "counters" else "a scan of the whole table"
    return f"Read {snapshot.items_read} item(s) from {source} in {snapshot.scan_seconds:.1f}s"


def summary_line(snapshot: Snapshot) -> str:
    """Return the snapshot as one plain line: time, counts, share ended, rate, ETA, uploads waiting."""
    waiting = "" if snapshot.backlog is None else f"  |  {snapshot.backlog.total} uploads waiting"
    if snapshot.long_waits is not None and snapshot.long_waits.total:
        waits = snapshot.long_waits
        over = "over " if waits.total_is_floor else ""
        waiting += (
            f"  |  {over}{waits.total:,} waiting for Batch over {format_duration(waits.threshold_seconds)}"
        )
    spent = "" if snapshot.spend is None else f"  |  {usd(snapshot.spend.total_usd)} spent"
    return (
        f"{_clock(snapshot)}  {snapshot.total} jobs: {_counts(snapshot, ', ')}  |  "
        f"{snapshot.progress:.1%} ended  |  {snapshot.rate_per_minute:.1f} jobs/min  |  ETA {_eta(snapshot)}"
        f"{spent}{waiting}"
    )


def plain_snapshot(snapshot: Snapshot) -> str:
    """Return the snapshot as plain lines for `--once`: summary, rate, ETA, the newest problems."""
    window = int(snapshot.rate_window.total_seconds() // _MINUTE)
    lines = [
        f"Table {snapshot.table}, {snapshot.filters.describe()}, at {_clock(snapshot)}",
        f"{snapshot.total} jobs: {_counts(snapshot, ', ')}",
        f"Ended: {snapshot.ended} of {snapshot.total} ({snapshot.progress:.1%})",
        f"Rate: {snapshot.rate_per_minute:.1f} jobs/min (jobs ended in the last {window} min)",
        f"ETA: {_eta(snapshot)}",
    ]
    if (waiting := backlog_text(snapshot)) is not None:
        lines.insert(2, waiting)
    if snapshot.spend is not None:
        lines.append(spend_line(snapshot.spend))
    if snapshot.tags:
        lines += ["By TAG:", *tag_lines(snapshot)]
    lines.append(_read_note(snapshot))
    if snapshot.problems:
        lines.append(
            f"Newest failures and rejections ({len(snapshot.problems)} of {snapshot.problems_total}):"
        )
        lines += [
            f"  {p.group.value:<8} {p.uuid}  {p.ended_at or '-'}  {problem_detail(snapshot, p)}"
            for p in snapshot.problems
        ]
    if snapshot.long_waits is not None:
        from shepard_cli._wait_render import long_wait_lines

        lines += long_wait_lines(snapshot.long_waits)
    return "\n".join(lines)


def live_view(snapshot: Snapshot, interval: float) -> RenderableType:
    """Return the rich renderable of the live view: header, counts, progress bar, rate and ETA, problems."""
    from rich.console import Group
    from rich.progress_bar import ProgressBar
    from rich.table import Table
    from rich.text import Text

    header = Text.assemble(
        ("shepard watch", "bold"),
        f"  {snapshot.table} · {snapshot.filters.describe()} · {_clock(snapshot)}",
        (f"  (every {interval:g}s; Ctrl-C to leave)", "dim"),
    )
    counts = Table(box=None, padding=(0, 2), show_edge=False)
    for group in StatusGroup:
        counts.add_column(group.value.upper(), justify="right", header_style=f"bold {GROUP_STYLES[group]}")
    counts.add_column("TOTAL", justify="right", header_style="bold")
    counts.add_row(*(str(snapshot.counts[group]) for group in StatusGroup), str(snapshot.total))
    bar = Table.grid(padding=(0, 1))
    bar.add_column(width=50)
    bar.add_column()
    bar.add_row(
        ProgressBar(total=max(snapshot.total, 1), completed=snapshot.ended, width=50),
        Text(f"{snapshot.ended}/{snapshot.total} ended ({snapshot.progress:.1%})"),
    )
    pace = Text(f"{snapshot.rate_per_minute:.1f} jobs/min   ETA {_eta(snapshot)}")
    parts: list[RenderableType] = [header, Text(), counts, Text(), bar, pace]
    if (waiting := backlog_text(snapshot)) is not None:
        parts.append(Text(waiting, style="cyan"))
    if snapshot.spend is not None:
        parts.append(Text(spend_line(snapshot.spend)))
    if snapshot.tags:
        parts += [Text(), Text("By TAG", style="bold"), Text("\n".join(tag_lines(snapshot)))]
    parts.append(Text(_read_note(snapshot), style="dim"))
    if snapshot.problems:
        problems = Table(
            title=f"newest failures and rejections ({len(snapshot.problems)} of {snapshot.problems_total})",
            title_justify="left",
            expand=False,
        )
        for column in ("ENDED (UTC)", "UUID", "STATUS", "REASON / EXIT CODE / WHERE"):
            problems.add_column(column, overflow="fold")
        for problem in snapshot.problems:
            problems.add_row(
                Text(_short_time(problem.ended_at)),
                Text(problem.uuid),
                Text(problem.group.value, style=GROUP_STYLES[problem.group]),
                Text(problem_detail(snapshot, problem)),
            )
        parts += [Text(), problems]
    if snapshot.long_waits is not None and snapshot.long_waits.total:
        from shepard_cli._wait_render import long_wait_lines

        parts += [Text(), Text("\n".join(long_wait_lines(snapshot.long_waits)), style="cyan")]
    return Group(*parts)
