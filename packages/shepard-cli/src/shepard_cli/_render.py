"""Everything shepard shows: tables and results on stdout, progress bars and warnings on stderr."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, Self

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID
    from rich.text import Text

    from shepard_cli._jobs import JobView


PIPE_WIDTH: Final = 100_000
"""The width of output that is not a terminal: wide enough that no table row is ever wrapped."""


def stdout() -> Console:
    """Return a console on the current stdout (tables, results); off a terminal, lines never wrap."""
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=False)
    if not console.is_terminal:
        console.width = PIPE_WIDTH
    return console


def stderr() -> Console:
    """Return a console on the current stderr (progress, warnings)."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def byte_progress() -> Progress:
    """Return a progress display for byte transfers (bar, size, speed, time left), shown on terminals only."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    console = stderr()
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
        disable=not console.is_terminal,
    )


def count_progress() -> Progress:
    """Return a progress display counting items (bar, done of total, time left), shown on terminals only."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = stderr()
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


def warn(message: str) -> None:
    """Print a warning on stderr as one line, never wrapped, the message shown as written."""
    from rich.text import Text

    stderr().print(Text.assemble(("Warning:", "yellow"), " ", message), soft_wrap=True)


def _cells(*values: object) -> list[Text]:
    """Return table cells showing each value as written (brackets in a key are not markup)."""
    from rich.text import Text

    return [Text("" if value is None else str(value)) for value in values]


def job_table(views: list[JobView], table: str) -> None:
    """Print jobs as a table: id, status, start, zip, and inputs or why the job was rejected."""
    from rich.table import Table

    grid = Table(title=f"{len(views)} job(s) in {table}", show_lines=False)
    for column in ("UUID", "STATUS", "START TIME", "INPUT ZIP", "INPUTS / REASON"):
        grid.add_column(column, overflow="fold")
    for view in views:
        detail = view.reason or ", ".join(f"{k}={v}" for k, v in sorted(view.inputs.items()))
        style = "red" if view.reason else None
        grid.add_row(
            *_cells(view.uuid, view.status, view.start_time, view.input_zip_name, detail), style=style
        )
    stdout().print(grid)


def job_status_table(job: str, document: dict[str, Any]) -> None:
    """Print one job's row and its AWS Batch state as a two-column table, leaving out empty values."""
    from rich.table import Table

    grid = Table(show_header=False, title=f"job {job}")
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    for key, value in document["job"].items():
        shown = ", ".join(f"{k}={v}" for k, v in sorted(value.items())) if key == "inputs" else value
        shown = ", ".join(shown) if isinstance(shown, list) else shown
        if shown not in (None, ""):
            grid.add_row(*_cells(key, shown))
    for key, value in (document["batch"] or {}).items():
        if value not in (None, ""):
            grid.add_row(*_cells(f"batch {key}", value))
    stdout().print(grid)


def stack_tables(document: dict[str, Any]) -> None:
    """Print a described stack: its status, then its parameters, outputs and resources as tables."""
    from rich.table import Table

    console = stdout()
    console.print(f"[bold]{document['name']}[/bold]: {document['status']}")
    for section in ("parameters", "outputs"):
        grid = Table(title=section, show_header=False)
        grid.add_column(style="bold")
        grid.add_column(overflow="fold")
        for key, value in document[section].items():
            grid.add_row(*_cells(key, value))
        console.print(grid)
    grid = Table(title="resources")
    for column in ("LOGICAL ID", "TYPE", "PHYSICAL ID", "STATUS"):
        grid.add_column(column, overflow="fold")
    for r in document["resources"]:
        grid.add_row(*_cells(r["logical_id"], r["type"], r["physical_id"], r["status"]))
    console.print(grid)


class PushProgress:
    """Shows build output and one progress bar per pushed layer (on stderr)."""

    def __init__(self) -> None:
        """Prepare the display; it starts when entered."""
        from rich.progress import BarColumn, DownloadColumn, TextColumn
        from rich.progress import Progress as RichProgress

        console = stderr()
        self.progress = RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        )
        self.layers: dict[str, tuple[TaskID, int]] = {}

    def __enter__(self) -> Self:
        """Start showing progress."""
        self.progress.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        """Stop showing progress."""
        self.progress.stop()

    def step(self, message: str) -> None:
        """Print a step of the deploy in bold."""
        self.progress.console.print(f"[bold]{message}[/bold]")

    def line(self, line: dict[str, Any]) -> None:
        """Show one line of Docker's build or push output: build text dimmed, push progress as bars."""
        from rich.text import Text

        if "stream" in line and line["stream"].strip():
            self.progress.console.print(Text(line["stream"].rstrip(), style="dim"))
            return
        layer = line.get("id")
        detail = line.get("progressDetail") or {}
        if layer and line.get("status") == "Pushing" and detail.get("total"):
            if layer not in self.layers:
                total = int(detail["total"])
                self.layers[layer] = (self.progress.add_task(f"layer {layer}", total=total), total)
            self.progress.update(self.layers[layer][0], completed=detail.get("current", 0))
        elif layer and line.get("status") in {"Pushed", "Layer already exists"}:
            if layer in self.layers:
                task, total = self.layers[layer]
                self.progress.update(task, completed=total)
            self.progress.console.print(Text(f"{layer}: {line['status']}", style="dim"))
